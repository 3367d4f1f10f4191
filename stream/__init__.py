"""Stream: what viewers read. Downloads and job metadata (the live tail and viewer come later)."""

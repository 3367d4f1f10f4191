"""Stream: what viewers read. Downloads, ranges and job metadata, the live tail over websockets,
the viewer page and job list, search, and the masking of secrets on every read path."""

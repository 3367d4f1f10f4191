"""Compactor: turns finished logs into compressed archives (next issue)."""

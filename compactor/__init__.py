"""Compactor: turns finished logs into verified, compressed archives."""

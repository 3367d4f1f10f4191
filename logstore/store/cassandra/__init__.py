"""Cassandra backend. Driver types never leave this package."""

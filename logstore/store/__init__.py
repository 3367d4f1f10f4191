"""Storage backends behind one interface; `open_store` picks one from a store URL."""

from __future__ import annotations

from logstore.errors import ConfigError
from logstore.store.interface import (
    JobInfo,
    JobListing,
    JobProtection,
    JobState,
    JobStatus,
    LogStore,
    PutOutcome,
    PutResult,
)

__all__ = [
    "JobInfo",
    "JobListing",
    "JobProtection",
    "JobState",
    "JobStatus",
    "LogStore",
    "PutOutcome",
    "PutResult",
    "open_store",
]


async def open_store(url: str) -> LogStore:
    """Open the backend named by `url`: sqlite:///PATH or cassandra://HOSTS/KEYSPACE?..."""
    if url.startswith("sqlite:"):
        from logstore.store.sqlite import SQLiteStore

        return SQLiteStore.from_url(url)
    if url.startswith("cassandra:"):
        from logstore.store.cassandra.backend import CassandraStore

        return await CassandraStore.connect(url)
    raise ConfigError(f"store URL {url!r}: use sqlite:///PATH or cassandra://HOST[:PORT][,HOST...]/KEYSPACE")

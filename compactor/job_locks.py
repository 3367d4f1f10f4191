"""One compaction of a job at a time inside one process: an asyncio lock per job id.

The store lease (`LogStore.claim`) keeps compactors of different processes apart. Inside one
process two requests for the same job (a duplicate final chunk makes two) would otherwise run at
once; this lock makes the second wait for the first, so that it then finds the job compacted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class JobLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}  # holder + waiters; the lock goes once none is left

    def users(self, job_id: str) -> int:
        """How many attempts of `job_id` hold or wait for its lock now."""
        return self._users.get(job_id, 0)

    @asynccontextmanager
    async def hold(self, job_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(job_id, asyncio.Lock())
        self._users[job_id] = self._users.get(job_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[job_id] -= 1
            if not self._users[job_id]:
                del self._users[job_id], self._locks[job_id]

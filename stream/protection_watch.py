"""Fresh protection reads for the tails of one process, shared by the viewers of a job.

A tail sends a chunk's frame only after a read of the job's protection (private flag, secrets)
that started after the chunk was stored: then a job made private, or given secrets, before the
chunk was stored never shows that chunk to a viewer that connected earlier. `read(job, since)`
gives the result of a read started at or after `since` (monotonic seconds): the last one if it
qualifies, the one in flight if it does, else a new one. The viewers of a job that get the same
announcement share one read, so the cost is about one protection read per job and announced
chunk (or catch-up batch) per process, whatever the number of viewers.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from logstore.store import JobProtection, LogStore
from stream import metrics


@dataclass
class _Reads:
    watchers: int = 0
    latest: tuple[float, JobProtection] | None = None  # (started, result) of the newest read done
    pending: tuple[float, asyncio.Task[JobProtection]] | None = None  # the newest one in flight


class ProtectionWatch:
    def __init__(self, store: LogStore) -> None:
        self._store = store
        self._jobs: dict[str, _Reads] = {}

    def enter(self, job_id: str) -> None:
        self._jobs.setdefault(job_id, _Reads()).watchers += 1

    def leave(self, job_id: str) -> None:
        reads = self._jobs.get(job_id)
        if reads is not None:
            reads.watchers -= 1
            if reads.watchers <= 0:
                del self._jobs[job_id]

    async def read(self, job_id: str, since: float) -> JobProtection:
        """The job's protection as read by a read started at or after `since`. Raises what the
        store raises (StoreUnavailable)."""
        reads = self._jobs.get(job_id) or _Reads()  # not entered: a read of its own
        while True:
            if reads.latest is not None and reads.latest[0] >= since:
                return reads.latest[1]
            if reads.pending is not None and reads.pending[0] >= since:
                task = reads.pending[1]
            else:
                started = time.monotonic()
                task = asyncio.create_task(self._read(reads, job_id, started), name=f"protection-{job_id}")
                task.add_done_callback(_retrieve)
                reads.pending = (started, task)
            await asyncio.shield(task)

    async def _read(self, reads: _Reads, job_id: str, started: float) -> JobProtection:
        try:
            with metrics.PROTECTION_READ_SECONDS.time():
                protection = await self._store.job_protection(job_id)
        finally:
            if reads.pending is not None and reads.pending[0] == started:
                reads.pending = None
        if reads.latest is None or reads.latest[0] < started:
            reads.latest = (started, protection)
        return protection


def _retrieve(task: asyncio.Task[JobProtection]) -> None:
    """A read whose viewers all left: its outcome is nobody's (no 'never retrieved' warning)."""
    if not task.cancelled():
        task.exception()

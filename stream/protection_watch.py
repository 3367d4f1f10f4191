"""Fresh protection reads for the tails of one process, shared by the viewers of a job.

A tail sends a chunk's frame only after a read of the job's protection (private flag, secrets)
that started after the chunk was stored: then a job made private, or given secrets, before the
chunk was stored never shows that chunk to a viewer that connected earlier. `read(job, since)`
gives the result of a read started at or after `since` (monotonic seconds): the last one if it
qualifies, the one in flight if it does, else a new one. The viewers of a job that get the same
announcement share one read, so the cost is about one protection read per job and announced
chunk (or catch-up batch) per process, whatever the number of viewers.

A tail calls `prefetch(job, seen_at)` as each chunk reaches it, so the read its frame will wait
for starts then, not after the frames before it went out: under a slow store a live frame waits
for about one read, not two. Up to IN_FLIGHT reads of a job run at once (a catch-up batch of a
thousand chunks starts two, then its frames wait for a third that starts after the last).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

from logstore.store import JobProtection, LogStore
from stream import metrics

IN_FLIGHT = 2  # reads of one job at once started by prefetch


@dataclass
class _Reads:
    watchers: int = 0
    latest: tuple[float, JobProtection] | None = None  # (started, result) of the newest read done
    pending: dict[float, asyncio.Task[JobProtection]] = field(default_factory=dict)  # started -> read

    def serving(self, since: float) -> asyncio.Task[JobProtection] | None:
        """A read in flight started at or after `since` (the earliest such)."""
        started = min((at for at in self.pending if at >= since), default=None)
        return None if started is None else self.pending[started]


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
            await asyncio.shield(reads.serving(since) or self._start(reads, job_id))

    def prefetch(self, job_id: str, since: float) -> None:
        """Start the read a `read(job_id, since)` will want, unless one is done or under way (or
        IN_FLIGHT are) already; for a job entered by a viewer."""
        reads = self._jobs.get(job_id)
        if reads is None or (reads.latest is not None and reads.latest[0] >= since):
            return
        if reads.serving(since) is None and len(reads.pending) < IN_FLIGHT:
            self._start(reads, job_id)

    def _start(self, reads: _Reads, job_id: str) -> asyncio.Task[JobProtection]:
        started = time.monotonic()
        while started in reads.pending:  # two reads started within the clock's resolution
            started = math.nextafter(started, math.inf)
        task = asyncio.create_task(self._read(reads, job_id, started), name=f"protection-{job_id}")
        task.add_done_callback(_retrieve)
        reads.pending[started] = task
        return task

    async def _read(self, reads: _Reads, job_id: str, started: float) -> JobProtection:
        try:
            with metrics.PROTECTION_READ_SECONDS.time():
                protection = await self._store.job_protection(job_id)
        finally:
            reads.pending.pop(started, None)
        if reads.latest is None or reads.latest[0] < started:
            reads.latest = (started, protection)
        return protection


def _retrieve(task: asyncio.Task[JobProtection]) -> None:
    """A read whose viewers all left: its outcome is nobody's (no 'never retrieved' warning)."""
    if not task.cancelled():
        task.exception()

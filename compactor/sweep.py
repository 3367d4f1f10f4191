"""The sweep: a safety net under the compaction queue. Every `sweep_interval_s` it pages through
every job that is not archived, however old (`LogStore.unarchived_jobs`: no window, no cap), and
requests compaction of every finished one (a request lost with a broker, a job whose holes have
since become final, an archive that failed) and of every running one without a write for
`abandon_running_after_s` (its worker died before the final chunk: it is archived as abandoned).
So no job's chunks reach their TTL (60 days) unarchived unless archiving keeps failing, and then
`logstore_compactor_oldest_due_seconds` says so long before (alert LogstoreJobNotArchived).

A job it requested is requested again only after REREQUEST_SWEEPS sweeps: a compactor that is
behind (a backlog after an outage) would otherwise find its queue holding the same jobs again and
again, one more copy per sweep, and new jobs' requests waiting behind all of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable

from compactor import metrics
from logstore.bus import Bus
from logstore.config import CompactSettings
from logstore.errors import JobNotFound, LogstoreError
from logstore.store import JobState, JobStatus, LogStore

log = logging.getLogger("logstore.compactor")

SWEEP_PAGE = 1_000  # job ids per read of the unarchived list
STATUS_READS = 100  # job statuses read at once
REREQUEST_SWEEPS = 6  # a request that was lost is made again after this many sweeps (30 min)
LONG_DUE_S = 86_400.0  # the oldest due job is named in a warning past this (LogstoreJobNotArchived)


class Sweeper:
    def __init__(
        self,
        store: LogStore,
        bus: Bus,
        settings: CompactSettings,
        clock: Callable[[], float] = time.time,
        page: int = SWEEP_PAGE,
    ) -> None:
        """`clock` gives the unix time idleness and ages are measured from; `page` is how many
        job ids one read of the store's unarchived list returns (every page is swept)."""
        self.store = store
        self.bus = bus
        self.settings = settings
        self.clock = clock
        self.page = page
        self._stopping = asyncio.Event()
        self._requested: dict[str, float] = {}  # due job -> when this sweeper last requested it

    async def run(self) -> None:
        # a process that has not finished a sweep yet counts from its start (LogstoreSweepNotRunning)
        metrics.SWEEP_SUCCESS.set(time.time())
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):  # jitter: sweepers of several processes spread out
                delay = self.settings.sweep_interval_s * random.uniform(0.8, 1.2)
                await asyncio.wait_for(self._stopping.wait(), delay)
            if not self._stopping.is_set():
                try:
                    await self.sweep()
                except LogstoreError as exc:
                    log.warning("sweep failed: %s", exc)

    def stop(self) -> None:
        self._stopping.set()

    async def sweep(self) -> int:
        """Request compaction of every unarchived job that is due (unless this sweeper requested it
        in the last REREQUEST_SWEEPS sweeps); return how many were requested.
        The gauges change only once every page was read."""
        now = self.clock()
        seen = due = requested = 0
        oldest_due = 0.0
        oldest_job = ""
        after: str | None = None
        still_due: dict[str, float] = {}
        while True:
            page = await self.store.unarchived_jobs(after, self.page)
            for job_id, status in zip(page, await self._statuses(page), strict=True):
                if status is None or status.state.archived:  # deleted or archived meanwhile
                    continue
                seen += 1
                due_since = self._due_since(status, now)
                if due_since is None or due_since > now:
                    continue
                due += 1
                if now - due_since > oldest_due:
                    oldest_due, oldest_job = now - due_since, job_id
                last = self._requested.get(job_id)
                if last is not None and now - last < REREQUEST_SWEEPS * self.settings.sweep_interval_s:
                    still_due[job_id] = last
                    continue
                await self.bus.request_compaction(job_id)
                still_due[job_id] = now
                requested += 1
            if len(page) < self.page:
                break
            after = page[-1]
        self._requested = still_due  # jobs no longer due are forgotten
        if oldest_due > LONG_DUE_S:
            log.warning(
                "job %s due for archiving %.1f h ago, not archived (%d jobs due)",
                oldest_job, oldest_due / 3600, due,
            )  # fmt: skip
        metrics.UNARCHIVED.set(seen)
        metrics.BACKLOG.set(due)
        metrics.OLDEST_DUE.set(oldest_due)
        metrics.SWEEP_SUCCESS.set(time.time())
        return requested

    def _due_since(self, status: JobStatus, now: float) -> float | None:
        """When the job became due for archiving: at its last write once finished (the
        compactor itself waits `grace_s` for holes, `abandon_after_s` at most), or
        `abandon_running_after_s` after its last write while it has no final chunk."""
        written = status.updated_at if status.updated_at is not None else now
        if status.state is JobState.FINISHED:
            return written
        if status.state is JobState.RUNNING:
            return written + self.settings.abandon_running_after_s
        return None

    async def _statuses(self, job_ids: list[str]) -> list[JobStatus | None]:
        found: list[JobStatus | None] = []
        for start in range(0, len(job_ids), STATUS_READS):
            found += await asyncio.gather(*(self._status(j) for j in job_ids[start : start + STATUS_READS]))
        return found

    async def _status(self, job_id: str) -> JobStatus | None:
        try:
            return await self.store.job_status(job_id)
        except JobNotFound:
            return None

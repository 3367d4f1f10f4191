"""The sweep: a safety net under the compaction queue. Every `sweep_interval_s` it looks at the
jobs of the last `sweep_window_s` and requests compaction of every finished job that is not
archived yet (a request lost with a broker, or a job whose holes have since become final), and of
every running job without a write for `abandon_after_s` (its worker died before the final chunk:
it is archived as abandoned)."""

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
from logstore.store import JobState, LogStore

log = logging.getLogger("logstore.compactor")

SWEEP_PAGE = 10_000


class Sweeper:
    def __init__(
        self, store: LogStore, bus: Bus, settings: CompactSettings, clock: Callable[[], float] = time.time
    ) -> None:
        """`clock` gives the unix time the window and idleness are measured from."""
        self.store = store
        self.bus = bus
        self.settings = settings
        self.clock = clock
        self._stopping = asyncio.Event()

    async def run(self) -> None:
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
        """Request compaction of finished, unarchived jobs; return how many were requested."""
        now = self.clock()
        jobs = await self.store.list_jobs(now - self.settings.sweep_window_s, now + 1, SWEEP_PAGE)
        requested = 0
        backlog = 0
        for listing in jobs:
            try:
                status = await self.store.job_status(listing.job_id)
            except JobNotFound:
                continue
            idle = now - (status.updated_at or now) >= self.settings.abandon_after_s
            if status.state is JobState.FINISHED or (status.state is JobState.RUNNING and idle):
                backlog += 1
                await self.bus.request_compaction(listing.job_id)
                requested += 1
        metrics.BACKLOG.set(backlog)
        return requested

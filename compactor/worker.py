"""Take compaction requests from the bus and archive the jobs, a few at a time.

A request is settled `done` once its job is compacted (or was already, or is gone); otherwise it
is handed back after `retry_s` so another attempt (here or in another compactor) can finish it.
Nothing is dropped because a dependency hiccuped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from pathlib import Path

import zstandard

from compactor import metrics
from compactor.archive_job import ArchiveJob, Outcome
from logstore.bus import Bus, WorkItem
from logstore.config import CompactSettings
from logstore.store import LogStore

log = logging.getLogger("logstore.compactor")

SETTLED = (Outcome.COMPACTED, Outcome.ALREADY, Outcome.GONE, Outcome.REOPENED)


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class CompactionWorker:
    def __init__(self, store: LogStore, bus: Bus, settings: CompactSettings) -> None:
        self.bus = bus
        self.settings = settings
        self.job = ArchiveJob(store, settings, owner_name())
        self._slots = asyncio.Semaphore(settings.compactors)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    async def _load_dictionary(self) -> None:
        """Keep the configured dictionary in the store, where readers find it by id."""
        if not self.settings.zstd_dictionary:
            return
        data = await asyncio.to_thread(Path(self.settings.zstd_dictionary).read_bytes)
        await self.job.store.put_dictionary(zstandard.ZstdCompressionDict(data).dict_id(), data)
        self.job.dictionary = data

    async def run(self) -> None:
        await self._load_dictionary()
        # more requests in hand than compactions at once: jobs waiting for a retry do not block
        requests = self.bus.compaction_requests(self.settings.compactors * 8)
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                await self._slots.acquire()
                taking = asyncio.ensure_future(anext(requests))
                done, _ = await asyncio.wait({taking, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if taking not in done:
                    taking.cancel()
                    self._slots.release()
                    break
                task = asyncio.create_task(self._handle(taking.result()))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            await asyncio.gather(*self._tasks, return_exceptions=True)  # drain in-flight jobs
        finally:
            stopping.cancel()
            with contextlib.suppress(Exception):
                await requests.aclose()  # type: ignore[attr-defined]

    def stop(self) -> None:
        self._stopping.set()

    async def _handle(self, item: WorkItem) -> None:
        try:
            outcome = await self.job.run(item.job_id)
        except Exception as exc:  # the store or the archive failed: try again later
            metrics.FAILURES.labels(type(exc).__name__).inc()
            log.warning("compaction failed: %s", exc, extra={"job_id": item.job_id})
            outcome = None
        finally:
            self._slots.release()
        if outcome is not None:
            metrics.JOBS.labels(outcome.value).inc()
        if outcome in SETTLED:
            await item.done()
        else:
            await asyncio.sleep(self.settings.retry_s)
            await item.retry()

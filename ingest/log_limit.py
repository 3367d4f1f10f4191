"""Keep each job's log under the size limit without reading the whole log on every chunk.

A bounded LRU of per-job byte totals: loaded from the store the first time a job is seen by this
process, then advanced by every chunk this process stores. With N ingesters a log can pass the
limit by what the other processes stored since this one loaded its total; the limit is a guard
against runaway jobs, and that slack is bounded by the other processes' in-flight writes.
"""

from __future__ import annotations

from collections import OrderedDict

from logstore.chunk import Chunk
from logstore.errors import JobNotFound, LogTooLarge
from logstore.store import LogStore

MAX_TRACKED_JOBS = 10_000


class LogSizeLimit:
    def __init__(self, store: LogStore, max_log_bytes: int) -> None:
        self._store = store
        self.max_log_bytes = max_log_bytes
        self._totals: OrderedDict[str, int] = OrderedDict()

    async def check(self, chunk: Chunk) -> None:
        """Raise LogTooLarge if storing `chunk` would take its log over the limit."""
        total = self._totals.get(chunk.job_id)
        if total is None:
            try:
                total = (await self._store.get_job(chunk.job_id)).bytes
            except JobNotFound:
                total = 0
            self._remember(chunk.job_id, total)
        if total + chunk.size > self.max_log_bytes:
            raise LogTooLarge(
                f"job {chunk.job_id}: {total} bytes stored, a chunk of {chunk.size} would pass "
                f"the log limit of {self.max_log_bytes} bytes"
            )

    def stored(self, chunk: Chunk) -> None:
        self._remember(chunk.job_id, self._totals.get(chunk.job_id, 0) + chunk.size)

    def _remember(self, job_id: str, total: int) -> None:
        self._totals[job_id] = total
        self._totals.move_to_end(job_id)
        while len(self._totals) > MAX_TRACKED_JOBS:
            self._totals.popitem(last=False)

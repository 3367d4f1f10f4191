"""Keep each job's log under the size limit without reading the whole log on every chunk.

A bounded LRU of per-job byte totals: loaded from the store the first time a job is seen by this
process, advanced by every chunk this process stores, and re-read from the store when it is older
than REFRESH_S once the log has passed a quarter of the limit (small logs never pay for it).

With one ingester storing one batch at a time the limit is exact. The batches an ingester stores
at once (ingest/consumer.py, BATCHES_IN_FLIGHT) are each checked against the total before the
others' chunks are counted, so together they can pass the limit by the job's chunks in those
batches. With N ingesters each one also counts only its own writes between refreshes, so a log can
pass the limit by what the others stored since this process last read the total (at most
REFRESH_S of the job's output). The limit guards against runaway jobs; that bounded slack is the
price of not reading the log's size on every write.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from logstore.chunk import Chunk
from logstore.errors import JobNotFound, LogTooLarge
from logstore.store import LogStore

MAX_TRACKED_JOBS = 10_000
REFRESH_S = 5.0


class LogSizeLimit:
    def __init__(self, store: LogStore, max_log_bytes: int) -> None:
        self._store = store
        self.max_log_bytes = max_log_bytes
        self._totals: OrderedDict[str, tuple[int, float]] = OrderedDict()  # job -> (bytes, read at)

    async def check(self, chunk: Chunk, pending: int = 0) -> None:
        """Raise LogTooLarge if storing `chunk` would take its log over the limit, counting
        `pending` bytes of the same job accepted earlier in the same batch."""
        known = self._totals.get(chunk.job_id)
        if known is None or self._stale(*known):
            total = await self._read(chunk.job_id)
        else:
            total = known[0]
        total += pending
        if total + chunk.size > self.max_log_bytes:
            raise LogTooLarge(
                f"job {chunk.job_id}: {total} bytes stored or on the way, a chunk of {chunk.size} would pass "
                f"the log limit of {self.max_log_bytes} bytes"
            )

    def stored(self, chunk: Chunk) -> None:
        total, read_at = self._totals.get(chunk.job_id, (0, time.monotonic()))
        self._remember(chunk.job_id, total + chunk.size, read_at)

    def _stale(self, total: int, read_at: float) -> bool:
        return total * 4 > self.max_log_bytes and time.monotonic() - read_at > REFRESH_S

    async def _read(self, job_id: str) -> int:
        try:
            total = (await self._store.get_job(job_id)).bytes
        except JobNotFound:
            total = 0
        self._remember(job_id, total, time.monotonic())
        return total

    def _remember(self, job_id: str, total: int, read_at: float) -> None:
        self._totals[job_id] = (total, read_at)
        self._totals.move_to_end(job_id)
        while len(self._totals) > MAX_TRACKED_JOBS:
            self._totals.popitem(last=False)

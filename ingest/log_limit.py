"""Keep each job's log under the size limit without reading the whole log on every chunk.

A bounded LRU of per-job byte totals: loaded from the store the first time a job is seen by this
process, advanced by every chunk this process stores, and re-read from the store when it is older
than REFRESH_S once the log has passed a quarter of the limit (small logs never pay for it).

With one ingester the limit is exact, however many batches it stores at once
(ingest/consumer.py, BATCHES_IN_FLIGHT): a chunk admitted by one batch is reserved until its store
call returns, and every other batch counts that reservation. With N ingesters each one also counts
only its own writes between refreshes, so a log can pass the limit by what the others stored since
this process last read the total (at most REFRESH_S of the job's output). The limit guards against
runaway jobs; that bounded slack is the price of not reading the log's size on every write.
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
        self._reserved: dict[str, int] = {}  # job -> bytes admitted, store call not returned yet

    async def admit(self, chunk: Chunk) -> None:
        """Raise LogTooLarge if storing `chunk` would take its log over the limit, counting the
        chunks admitted but not yet settled (this batch's and any other's); else reserve its
        bytes until `settle`. Nothing awaits between the count and the reservation."""
        known = self._totals.get(chunk.job_id)
        if known is None or self._stale(*known):
            await self._read(chunk.job_id)
        total = self._totals[chunk.job_id][0] + self._reserved.get(chunk.job_id, 0)
        if total + chunk.size > self.max_log_bytes:
            raise LogTooLarge(
                f"job {chunk.job_id}: {total} bytes stored or on the way, a chunk of {chunk.size} would pass "
                f"the log limit of {self.max_log_bytes} bytes"
            )
        self._reserved[chunk.job_id] = self._reserved.get(chunk.job_id, 0) + chunk.size

    def settle(self, chunk: Chunk, created: bool) -> None:
        """The store call of an admitted chunk returned: count it if it was newly stored, then
        drop its reservation (in that order, so there is no moment when it counts nowhere)."""
        if created:
            self.stored(chunk)
        left = self._reserved.get(chunk.job_id, 0) - chunk.size
        if left > 0:
            self._reserved[chunk.job_id] = left
        else:
            self._reserved.pop(chunk.job_id, None)

    def stored(self, chunk: Chunk) -> None:
        total, read_at = self._totals.get(chunk.job_id, (0, time.monotonic()))
        self._remember(chunk.job_id, total + chunk.size, read_at)

    def _stale(self, total: int, read_at: float) -> bool:
        return total * 4 > self.max_log_bytes and time.monotonic() - read_at > REFRESH_S

    async def _read(self, job_id: str) -> int:
        before = self._totals.get(job_id)
        try:
            total = (await self._store.get_job(job_id)).bytes
        except JobNotFound:
            total = 0
        after = self._totals.get(job_id)
        if after is not None and after is not before:  # a batch stored chunks while we read:
            total = max(total, after[0])  # the read may not include them
        self._remember(job_id, total, time.monotonic())
        return total

    def _remember(self, job_id: str, total: int, read_at: float) -> None:
        self._totals[job_id] = (total, read_at)
        self._totals.move_to_end(job_id)
        while len(self._totals) > MAX_TRACKED_JOBS:
            self._totals.popitem(last=False)

"""Downloads: the contiguous prefix of a log, from clock 0 up to the first missing clock, streamed
chunk by chunk so memory stays flat whatever the log's size. Never bytes out of order.

What a download holds is fixed before its first byte is sent (from the chunk index), so its
headers and body agree even while chunks keep arriving. Byte ranges and `?offset=` reads are
served from the same index: only the chunks that overlap the range are read.
"""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator
from dataclasses import dataclass

from logstore.errors import JobNotFound
from logstore.store import LogStore
from stream import metrics


@dataclass(frozen=True)
class LogView:
    """The contiguous prefix of a log at one moment: chunk start offsets and its length."""

    job_id: str
    complete: bool
    starts: list[int]  # byte offset where clock i begins, for i in 0..len-1
    length: int

    def clock_at(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1


async def open_view(store: LogStore, job_id: str) -> LogView:
    """Raises JobNotFound."""
    status = await store.job_status(job_id)  # not found before reading the index
    index = await store.chunk_index(job_id)
    starts: list[int] = []
    offset = 0
    for expected, (clock, size) in enumerate(index):
        if clock != expected:
            break
        starts.append(offset)
        offset += size
    complete = status.final_clock is not None and len(starts) == status.final_clock + 1
    if not index and status.final_clock is None:
        raise JobNotFound(f"job {job_id} not found")
    return LogView(job_id, complete, starts, offset)


async def read_bytes(store: LogStore, view: LogView, first: int, last: int) -> AsyncIterator[bytes]:
    """Bytes first..last (inclusive) of the view, chunk by chunk."""
    metrics.DOWNLOADS.inc()
    if last < first:
        return
    first_clock, last_clock = view.clock_at(first), view.clock_at(last)
    expected = first_clock
    async for clock, data in store.read_chunks(view.job_id, first_clock, last_clock):
        if clock != expected:  # the log changed under us (deleted): stop rather than skip bytes
            raise RuntimeError(f"job {view.job_id}: clock {expected} vanished during a download")
        start = view.starts[clock]
        piece = data[max(0, first - start) : last - start + 1]
        expected += 1
        metrics.DOWNLOAD_BYTES.inc(len(piece))
        yield piece

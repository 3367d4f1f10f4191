"""Downloads: the contiguous prefix of a log, from clock 0 up to the first missing clock, streamed
piece by piece so memory stays flat whatever the log's size. Never bytes out of order.

What a download holds is fixed before its first byte is sent (from the chunk index, or the
archive's segment index once the job is compacted), so headers and body agree even while chunks
keep arriving. If the job is compacted while a download reads its chunks, the download finds a
chunk gone, sees the job compacted and continues from the archive at the same byte offset: the
bytes are the same, there is no window in which they are not there. A job reopened while a
download reads its archive (a late chunk came: logstore/store/reopen.py) is the mirror image:
the segments run out and the download continues from the restored chunks.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from logstore.errors import JobNotFound
from logstore.store import LogStore
from logstore.store.archive import ArchiveInfo, SegmentRef, decompress
from logstore.store.archive_read import dictionary_of
from stream import metrics

WRITE_BYTES = 256 * 1024  # a download's socket writes are about this large


@dataclass(frozen=True)
class LogView:
    """The readable prefix of a log at one moment: where each clock starts, and its length."""

    job_id: str
    complete: bool
    starts: list[int]  # byte offset where clock i begins, for i in 0..len-1
    length: int
    archive: ArchiveInfo | None = None  # set when the view reads the archive
    refs: list[SegmentRef] | None = None

    def clock_at(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1


async def open_view(store: LogStore, job_id: str) -> LogView:
    """Raises JobNotFound."""
    status = await store.job_status(job_id)
    if status.state.archived:
        view = await _archive_view(store, job_id)
        if view is not None:
            return view
    index = await store.chunk_index(job_id)
    starts = _prefix_starts(index)
    complete = status.final_clock is not None and len(starts) == status.final_clock + 1
    # The job may have been compacted between our two reads, its chunks (partly) removed: then
    # the archive holds the whole log.
    if status.final_clock is not None and not complete and (await store.job_status(job_id)).state.archived:
        view = await _archive_view(store, job_id)
        if view is not None:
            return view
    if not index and status.final_clock is None:
        raise JobNotFound(f"job {job_id} not found")
    length = starts[-1] + index[len(starts) - 1][1] if starts else 0
    return LogView(job_id, complete, starts, length)


async def _archive_view(store: LogStore, job_id: str) -> LogView | None:
    archive = await store.archive_info(job_id)
    if archive is None:
        return None
    refs = await store.segment_refs(job_id)
    index = [(clock, size) for ref in refs for clock, size in enumerate(ref.sizes, ref.first_clock)]
    starts = _prefix_starts(index)
    length = starts[-1] + index[len(starts) - 1][1] if starts else 0
    complete = not archive.missing and not archive.abandoned  # an abandoned job may reopen and grow
    return LogView(job_id, complete, starts, length, archive, refs)


def _prefix_starts(index: list[tuple[int, int]]) -> list[int]:
    starts: list[int] = []
    offset = 0
    for expected, (clock, size) in enumerate(index):
        if clock != expected:
            break
        starts.append(offset)
        offset += size
    return starts


SWITCHES = 4  # compacted, reopened, compacted again... while one download runs: more is a bug


async def read_bytes(
    store: LogStore, view: LogView, first: int, last: int, ahead: int = 0
) -> AsyncIterator[bytes]:
    """Bytes first..last (inclusive) of the view, piece by piece. From an archive, `ahead`
    segments past the one being yielded are decompressed meanwhile in threads (zstd releases the
    GIL), for readers that want the whole log fast. A source that runs short (the job was
    compacted, its chunks removed; or reopened, its archive removed) is left for the other one
    at the same byte offset: the bytes are the same."""
    metrics.DOWNLOADS.inc()
    if last < first:
        return
    offset = first
    for _ in range(SWITCHES):
        if view.refs is not None and view.archive is not None:
            dictionary = await dictionary_of(store, view.archive)
            pieces = _from_archive(store, view.job_id, view.refs, offset, last, dictionary, ahead)
        else:
            pieces = _from_chunks(store, view, offset, last)
        async for piece in pieces:
            offset += len(piece)
            yield piece
        if offset > last:
            return
        view = await _current_view(store, view)
    raise RuntimeError(f"job {view.job_id}: its log kept vanishing during a download")


async def _current_view(store: LogStore, was: LogView) -> LogView:
    """Where the log is now, after the source `was` read from ran short."""
    status = await store.job_status(was.job_id)
    if status.state.archived:
        archived = await _archive_view(store, was.job_id)
        if archived is not None:
            return archived
    index = await store.chunk_index(was.job_id)
    starts = _prefix_starts(index)
    length = starts[-1] + index[len(starts) - 1][1] if starts else 0
    return LogView(was.job_id, was.complete, starts, length)


async def _from_chunks(store: LogStore, view: LogView, first: int, last: int) -> AsyncIterator[bytes]:
    """The chunks' bytes, the first one alone (first byte early), then joined into writes of about
    WRITE_BYTES: one socket write per 1.6 KB chunk would cost more than reading it."""
    expected = view.clock_at(first)
    pending: list[bytes] = []
    pending_bytes = 0
    async for clock, data in store.read_chunks(view.job_id, expected, view.clock_at(last)):
        if clock != expected:
            break
        start = view.starts[clock]
        piece = data[max(0, first - start) : last - start + 1]
        expected += 1
        metrics.DOWNLOAD_BYTES.inc(len(piece))
        pending.append(piece)
        pending_bytes += len(piece)
        if pending_bytes >= WRITE_BYTES or clock == view.clock_at(first):
            yield b"".join(pending)
            pending, pending_bytes = [], 0
    if pending:
        yield b"".join(pending)


async def _from_archive(
    store: LogStore,
    job_id: str,
    refs: list[SegmentRef],
    first: int,
    last: int,
    dictionary: bytes | None,
    ahead: int = 0,
) -> AsyncIterator[bytes]:
    starting = max(0, bisect.bisect_right([ref.raw_offset for ref in refs], first) - 1)
    async for start, raw in _decoded(store, job_id, starting, last, dictionary, ahead):
        piece = raw[max(0, first - start) : last - start + 1]
        metrics.DOWNLOAD_BYTES.inc(len(piece))
        yield piece


async def _decoded(
    store: LogStore, job_id: str, starting: int, last: int, dictionary: bytes | None, ahead: int
) -> AsyncIterator[tuple[int, bytes]]:
    """(raw offset, raw bytes) of each segment from `starting` on, up to the one holding byte
    `last`, with up to `ahead` more being decompressed in threads meanwhile."""
    if ahead <= 0:
        async for segment in store.read_segments(job_id, starting):
            if segment.ref.raw_offset > last:
                return
            yield segment.ref.raw_offset, decompress(segment, dictionary)
        return
    pending: deque[tuple[int, asyncio.Future[bytes]]] = deque()
    try:
        async for segment in store.read_segments(job_id, starting):
            if segment.ref.raw_offset > last:
                break
            work: asyncio.Future[bytes] = asyncio.ensure_future(
                asyncio.to_thread(decompress, segment, dictionary)
            )
            pending.append((segment.ref.raw_offset, work))
            if len(pending) > ahead:
                start, done = pending.popleft()
                yield start, await done
        while pending:
            start, done = pending.popleft()
            yield start, await done
    finally:
        for _, work in pending:
            work.cancel()


async def archive_frames(store: LogStore, job_id: str) -> AsyncIterator[bytes]:
    """The archive's zstd frames as stored: together, one valid zstd stream of the whole log."""
    metrics.DOWNLOADS.inc()
    async for segment in store.read_segments(job_id):
        metrics.DOWNLOAD_BYTES.inc(len(segment.frame))
        yield segment.frame

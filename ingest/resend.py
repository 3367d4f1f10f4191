"""Recognise a chunk that is already stored with exactly these bytes, where the store's own
duplicate check does not reach: a job archived since (its chunks now live in the archive, and an
archived job takes no more chunks), or a log at its size limit (the limit refuses before the
store is asked). A worker whose 201 was lost, or an ingester killed before its ack, sends such
copies; they are duplicates (200, acked), never conflicts. Only refused chunks pay for this
check, so the common path reads nothing more."""

from __future__ import annotations

from logstore.chunk import Chunk
from logstore.errors import JobNotFound
from logstore.store import LogStore
from logstore.store.archive_read import archived_chunk


async def is_resend(store: LogStore, chunk: Chunk) -> bool:
    """True when the chunk's clock holds these exact bytes (as a chunk or in the archive), and a
    final chunk matches the job's final clock: storing it again would change nothing."""
    for _ in range(2):  # a second look if the job was archived (its chunks deleted) meanwhile
        try:
            status = await store.job_status(chunk.job_id)
        except JobNotFound:
            return False
        if status.state.archived:
            return await _in_archive(store, chunk)
        if chunk.final and status.final_clock != chunk.clock:
            return False  # it would end the job, or end it elsewhere: not a copy
        async for clock, data in store.read_chunks(chunk.job_id, chunk.clock, chunk.clock):
            return clock == chunk.clock and data == chunk.data
    return False


async def _in_archive(store: LogStore, chunk: Chunk) -> bool:
    archive = await store.archive_info(chunk.job_id)
    if archive is None:
        return False
    if chunk.final and (archive.abandoned or chunk.clock != archive.final_clock):
        return False  # the archive holds no final chunk there: this one says something new
    return await archived_chunk(store, chunk.job_id, chunk.clock) == chunk.data

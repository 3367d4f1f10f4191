"""Reading a compacted job's chunks back out of its archive: the dictionary its segments were
compressed with, and one chunk by clock (to recognise a chunk re-sent after compaction)."""

from __future__ import annotations

from logstore.store.archive import ArchiveInfo, chunks_of
from logstore.store.interface import LogStore


async def dictionary_of(store: LogStore, archive: ArchiveInfo) -> bytes | None:
    """The zstd dictionary an archive was compressed with, or None for plain frames."""
    if not archive.dictionary_id:
        return None
    dictionary = await store.get_dictionary(archive.dictionary_id)
    if dictionary is None:
        raise RuntimeError(f"zstd dictionary {archive.dictionary_id} is missing from the store")
    return dictionary


async def archived_chunk(store: LogStore, job_id: str, clock: int) -> bytes | None:
    """The archived bytes of `clock`, or None when the job has no archive or it lacks that clock
    (never received, or after the final clock). Decodes the one segment that holds it."""
    archive = await store.archive_info(job_id)
    if archive is None:
        return None
    refs = [ref for ref in await store.segment_refs(job_id) if ref.first_clock <= clock <= ref.last_clock]
    if not refs:
        return None
    dictionary = await dictionary_of(store, archive)
    async for segment in store.read_segments(job_id, refs[0].index):
        return dict(chunks_of(segment, dictionary)).get(clock)
    return None

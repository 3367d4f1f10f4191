"""Reopen an archived job: its archive's chunks go back to the chunk store and the job runs again.

Why: the compactor archives a job without its final chunk (or with holes) once it has been quiet
for a long while, but it only guesses that the job is over. A chunk that arrives afterwards is
the worker's bytes, and they are never refused for that guess: the job is reopened, the chunk
stored, and the job archived again once it finishes (or goes quiet again). The same happens when
a chunk was stored while the job was being archived (the store reports it as
`JobArchived.stored`): the next archive holds it.

The steps, under the job's lease (the one compaction and delete take), so that none of them runs
at the same time as another:

    claim -> restore every archived chunk, with its first-stored time -> check all are there
    -> reopen_job (state derived from the chunks again; archive removed) -> release

A reader never meets a missing log: until `reopen_job` the job is archived and readers read the
archive; after it they read the chunks, which are all back. A reader that began on the archive
and finds it gone continues from the chunks at the same byte offset (stream/download.py). A
reopen killed at any step leaves an archived job with some chunks restored; the next late chunk
or the compactor (which removes exactly the archived clocks) carries on from there.
"""

from __future__ import annotations

import logging
import uuid

from logstore.errors import JobBusy, JobNotFound, StoreUnavailable
from logstore.store.archive import chunks_of
from logstore.store.interface import LogStore

log = logging.getLogger("logstore.store")

REOPEN_LEASE_S = 60.0  # restoring a job of many MiB takes seconds; a dead reopener blocks no longer


async def reopen(store: LogStore, job_id: str) -> bool:
    """Reopen `job_id` if it is archived; return False if it was not (or is gone). Raises JobBusy
    while another process holds the job's lease (a compaction, a delete, another reopen)."""
    owner = f"reopen/{uuid.uuid4().hex}"
    if not await store.claim(job_id, owner, REOPEN_LEASE_S):
        raise JobBusy(f"job {job_id} is being archived or deleted; retry shortly")
    try:
        return await reopen_held(store, job_id)
    finally:
        await store.release(job_id, owner)


async def reopen_held(store: LogStore, job_id: str) -> bool:
    """`reopen` for a caller that holds the job's lease already (the compactor)."""
    try:
        status = await store.job_status(job_id)
    except JobNotFound:
        return False
    info = await store.archive_info(job_id)
    if not status.state.archived or info is None:
        return False
    dictionary = await store.get_dictionary(info.dictionary_id) if info.dictionary_id else None
    archived: set[int] = set()
    async for segment in store.read_segments(job_id):
        times = segment.ref.times or (None,) * len(segment.ref.sizes)
        chunks = [
            (clock, data, at) for (clock, data), at in zip(chunks_of(segment, dictionary), times, strict=True)
        ]
        await store.restore_chunks(job_id, chunks)
        archived.update(clock for clock, _, _ in chunks)
    if len(archived) != info.chunks:
        raise StoreUnavailable(f"job {job_id}: read {len(archived)} archived chunks, expected {info.chunks}")
    stored = {clock for clock, _ in await store.chunk_index(job_id)}
    if not archived <= stored:
        raise StoreUnavailable(f"job {job_id}: restored chunks are not all readable yet")
    await store.reopen_job(job_id)
    log.info("job reopened", extra={"job_id": job_id, "chunks": len(archived)})
    return True

"""No acknowledged chunk is lost to a compactor's guess, on SQLite and on Cassandra: a quiet job
is not archived for an hour of silence; a chunk of a job archived as abandoned reopens it and the
log reads back whole; a chunk stored while its job is being archived is kept and archived next."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

import ingest.late_chunks
from compactor.archive_job import ArchiveJob, Outcome
from compactor.retention import delete_job
from ingest.service import IngestService
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings, LimitsSettings
from logstore.errors import JobArchived, JobBusy
from logstore.store import JobState, LogStore
from logstore.store.archive import ArchiveInfo
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.reopen import reopen
from logstore.store.sqlite import SQLiteStore
from stream.fanout import LiveHub
from stream.tail import ChunkEvent, EndEvent, Tail
from tests.clocks import a_week_later, an_hour_later

PIECES = [f"{n}: {'x' * 600}\n".encode() for n in range(6)]
SETTINGS = CompactSettings(grace_s=0, segment_bytes=1024)  # a segment per chunk or two


async def put(api: httpx.AsyncClient, job_id: str, clock: int, final: bool = False) -> int:
    response = await api.put(
        f"/v1/jobs/{job_id}/chunks/{clock}?final={str(final).lower()}", content=PIECES[clock]
    )
    return response.status_code


async def test_a_quiet_step_then_the_rest_of_the_log_reads_back_whole(
    any_store: LogStore, app_client: httpx.AsyncClient, job_id: str
) -> None:
    assert await put(app_client, job_id, 0) == 201
    quiet_hour = ArchiveJob(any_store, SETTINGS, "me", clock=an_hour_later)
    assert await quiet_hour.run(job_id) is Outcome.NOT_READY  # a long compile is not the end
    a_week = ArchiveJob(any_store, SETTINGS, "me", clock=a_week_later)
    assert await a_week.run(job_id) is Outcome.COMPACTED  # past abandon_running_after_s: abandoned
    assert (await any_store.job_status(job_id)).state is JobState.ABANDONED
    for clock in range(1, len(PIECES)):  # the worker was alive after all
        assert await put(app_client, job_id, clock, final=clock == len(PIECES) - 1) == 201, clock
    status = await any_store.job_status(job_id)
    assert (status.state, status.final_clock) == (JobState.FINISHED, len(PIECES) - 1)
    assert (await app_client.get(f"/v1/jobs/{job_id}/log")).content == b"".join(PIECES)
    assert await ArchiveJob(any_store, SETTINGS, "me").run(job_id) is Outcome.COMPACTED
    meta = (await app_client.get(f"/v1/jobs/{job_id}")).json()
    assert (meta["state"], meta["complete"], meta["missing"]) == ("compacted", True, [])
    assert (await app_client.get(f"/v1/jobs/{job_id}/log")).content == b"".join(PIECES)
    assert [c async for c in any_store.read_chunks(job_id)] == []


async def test_a_hole_filled_after_archiving_reopens_a_finished_job(
    any_store: LogStore, app_client: httpx.AsyncClient, job_id: str
) -> None:
    for clock in (0, 1, 3, 4, 5):
        assert await put(app_client, job_id, clock, final=clock == 5) == 201
    assert await ArchiveJob(any_store, SETTINGS, "me", clock=an_hour_later).run(job_id) is Outcome.COMPACTED
    assert (await any_store.job_status(job_id)).state is JobState.ABANDONED  # clock 2 never came
    assert (await app_client.put(f"/v1/jobs/{job_id}/chunks/6", content=b"after the end")).status_code == 409
    assert (await any_store.job_status(job_id)).state is JobState.ABANDONED  # refused without a reopen
    assert await put(app_client, job_id, 2) == 201
    assert (await app_client.get(f"/v1/jobs/{job_id}/log")).content == b"".join(PIECES)
    assert await ArchiveJob(any_store, SETTINGS, "me").run(job_id) is Outcome.COMPACTED
    assert (await any_store.job_status(job_id)).state is JobState.COMPACTED


async def test_a_compacted_job_still_refuses_new_bytes(
    any_store: LogStore, app_client: httpx.AsyncClient, job_id: str
) -> None:
    for clock in range(3):
        assert await put(app_client, job_id, clock, final=clock == 2) == 201
    assert await ArchiveJob(any_store, SETTINGS, "me").run(job_id) is Outcome.COMPACTED
    assert (await app_client.put(f"/v1/jobs/{job_id}/chunks/1", content=b"other")).status_code == 409
    assert (await app_client.put(f"/v1/jobs/{job_id}/chunks/3", content=b"more")).status_code == 409
    assert await put(app_client, job_id, 1) == 200  # an exact copy is a duplicate
    assert (await any_store.job_status(job_id)).state is JobState.COMPACTED


class ChunkDuringArchiving:
    """Runs `during` once, right before the compactor marks the job compacted: a chunk stored after
    the compactor read the job's chunks and before the mark."""

    def __init__(self, store: LogStore, during: Callable[[], Awaitable[Any]]) -> None:
        self.store = store
        self.during = during
        self.mark = store.mark_compacted

    async def mark_compacted(self, job_id: str, info: ArchiveInfo) -> bool:
        await self.during()
        return await self.mark(job_id, info)


async def test_a_chunk_stored_while_archiving_is_kept_and_archived_next(
    any_store: LogStore, app_client: httpx.AsyncClient, job_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite refuses the mark (the archive lacks a stored chunk); Cassandra, where the job was
    sealed, answers the chunk 503 while the compactor holds the job (the worker sends it again)
    and the compactor, finding it after the mark, reopens the job. Either way it is not lost."""
    for clock in (0, 1, 3, 4, 5):
        assert await put(app_client, job_id, clock, final=clock == 5) == 201
    answers: list[int] = []

    async def chunk_2() -> None:
        answers.append(await put(app_client, job_id, 2))

    monkeypatch.setattr(ingest.late_chunks, "BUSY_WAIT_S", 0.001)
    hook = ChunkDuringArchiving(any_store, chunk_2)
    monkeypatch.setattr(any_store, "mark_compacted", hook.mark_compacted)
    outcome = await ArchiveJob(any_store, SETTINGS, "me", clock=an_hour_later).run(job_id)
    assert answers == [201 if isinstance(any_store, SQLiteStore) else 503]
    assert outcome is Outcome.NOT_READY  # the archive lacked clock 2: archived again later
    assert (await any_store.job_status(job_id)).state is JobState.FINISHED
    assert (await app_client.get(f"/v1/jobs/{job_id}/log")).content == b"".join(PIECES)
    monkeypatch.undo()
    assert await ArchiveJob(any_store, SETTINGS, "me").run(job_id) is Outcome.COMPACTED
    assert (await app_client.get(f"/v1/jobs/{job_id}/log")).content == b"".join(PIECES)


async def test_cassandra_reports_a_chunk_written_as_its_job_was_archived(
    cassandra_store: CassandraStore, job_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer read the job row before the compactor marked it and wrote after: the store
    answers JobArchived(stored), never CREATED, so that the ingest service reopens the job."""
    store = cassandra_store
    await store.put_chunks([Chunk.create(job_id, 0, PIECES[0])])
    writer = store._writer
    write = writer._write

    async def archived_in_between(plans: Any) -> None:
        await store.mark_compacted(job_id, ArchiveInfo("ab" * 32, 5, 5, 1, 1, 0, abandoned=True))
        await write(plans)

    monkeypatch.setattr(writer, "_write", archived_in_between)
    (outcome,) = await store.put_chunks([Chunk.create(job_id, 1, b"one\n")])
    assert isinstance(outcome, JobArchived)
    assert outcome.stored
    assert [c for c, _ in await store.chunk_index(job_id)] == [0, 1]


async def test_delete_waits_for_a_running_compaction(any_store: LogStore, job_id: str) -> None:
    await any_store.put_chunks([Chunk.create(job_id, 0, b"x", final=True)])
    assert await any_store.claim(job_id, "a-compactor/1", 60)
    with pytest.raises(JobBusy):
        await delete_job(any_store, job_id)
    assert (await any_store.job_status(job_id)).state is JobState.FINISHED
    await any_store.release(job_id, "a-compactor/1")
    await delete_job(any_store, job_id)
    assert await any_store.chunk_index(job_id) == []


async def test_a_compaction_that_lost_its_lease_stops_before_writing(
    any_store: LogStore, job_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another owner took the lease while the archive was being made (ours ran out): the attempt
    marks nothing and removes nothing."""
    await any_store.put_chunks([Chunk.create(job_id, c, PIECES[c], final=c == 2) for c in range(3)])
    job = ArchiveJob(any_store, SETTINGS, "me")
    verify = job._verify

    async def lease_taken_meanwhile(job_id: str, archive: ArchiveInfo) -> None:
        await verify(job_id, archive)
        await any_store.release(job_id, "me/1")
        assert await any_store.claim(job_id, "someone-else", 60)

    monkeypatch.setattr(job, "_verify", lease_taken_meanwhile)
    assert await job.run(job_id) is Outcome.BUSY
    assert (await any_store.job_status(job_id)).state is JobState.FINISHED
    assert len(await any_store.chunk_index(job_id)) == 3
    await any_store.release(job_id, "someone-else")


async def test_the_reopen_of_a_job_is_announced_once(any_store: LogStore, job_id: str) -> None:
    """The ingest service stores a late chunk of an abandoned job and requests compaction of the
    reopened job once it has a final clock."""
    bus = MemoryBus()
    service = IngestService(any_store, bus, LimitsSettings())
    await service.ingest(Chunk.create(job_id, 0, PIECES[0]))
    await service.ingest(Chunk.create(job_id, 2, PIECES[2], final=True))
    assert await ArchiveJob(any_store, SETTINGS, "me", clock=an_hour_later).run(job_id) is Outcome.COMPACTED
    while not bus.requests.empty():
        bus.requests.get_nowait()
    assert await service.ingest(Chunk.create(job_id, 1, PIECES[1])) == "created"
    assert bus.requests.get_nowait() == job_id  # finished again: archive it with the chunk


async def test_a_tail_reading_the_archive_continues_from_the_chunks_when_the_job_reopens(
    any_store: LogStore, job_id: str
) -> None:
    await any_store.put_chunks([Chunk.create(job_id, c, PIECES[c]) for c in range(5)])  # no final
    assert await ArchiveJob(any_store, SETTINGS, "me", clock=a_week_later).run(job_id) is Outcome.COMPACTED
    assert len(await any_store.segment_refs(job_id)) > 2
    events = Tail(any_store, LiveHub(MemoryBus()), job_id, 0).events()
    seen = [await anext(events)]  # from the archive's first segment
    assert await reopen(any_store, job_id)  # a late chunk came: the archive is removed
    await any_store.put_chunk(Chunk.create(job_id, 5, PIECES[5], final=True))
    seen += [event async for event in events]
    assert seen == [*(ChunkEvent(c, PIECES[c]) for c in range(6)), EndEvent(5)]  # no gap, no early end

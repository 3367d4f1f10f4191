"""An abandoned job with a hole, on SQLite and Cassandra: archived with the missing range
recorded; every reader sees the hole explicitly and never bytes glued across it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from compactor.archive_job import ArchiveJob, Outcome
from compactor.sweep import Sweeper
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings
from logstore.errors import ChunkConflict
from logstore.store import JobState, LogStore
from stream.fanout import LiveHub
from stream.tail import ChunkEvent, EndEvent, GapEvent, Tail
from tests.clocks import a_week_later, an_hour_later

PIECES = [b"zero\n", b"one\n", b"two\n", b"three\n", b"four\n", b"five\n", b"six\n"]


@pytest.fixture
def api(app_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return app_client


async def abandon(store: LogStore, job_id: str, present: list[int], final: int) -> None:
    await store.put_chunks([Chunk.create(job_id, c, PIECES[c], final=c == final) for c in present])
    waiting = ArchiveJob(store, CompactSettings(grace_s=0.2), "me")
    assert await waiting.run(job_id) is Outcome.NOT_READY  # within abandon_after_s: wait for them
    later = ArchiveJob(store, CompactSettings(grace_s=0.2), "me", clock=an_hour_later)
    assert await later.run(job_id) is Outcome.COMPACTED  # idle for an hour: they are not coming


async def test_hole_in_the_middle(any_store: LogStore, api: httpx.AsyncClient, job_id: str) -> None:
    await abandon(any_store, job_id, [0, 1, 4, 5, 6], final=6)
    meta = (await api.get(f"/v1/jobs/{job_id}")).json()
    assert (meta["state"], meta["missing"], meta["complete"], meta["final_clock"]) == (
        "abandoned",
        [[2, 3]],
        False,
        6,
    )
    log = await api.get(f"/v1/jobs/{job_id}/log")
    assert log.content == b"zero\none\n"  # stops at the hole
    assert log.headers["log-complete"] == "false"
    gzip_or_zstd = await api.get(f"/v1/jobs/{job_id}/log", headers={"Accept-Encoding": "zstd"})
    assert "content-encoding" not in gzip_or_zstd.headers  # the frames hold more than the prefix
    assert gzip_or_zstd.content == b"zero\none\n"
    events = [e async for e in Tail(any_store, LiveHub(MemoryBus()), job_id, 0).events()]
    assert events == [
        ChunkEvent(0, b"zero\n"),
        ChunkEvent(1, b"one\n"),
        GapEvent(2, 3),
        ChunkEvent(4, b"four\n"),
        ChunkEvent(5, b"five\n"),
        ChunkEvent(6, b"six\n"),
        EndEvent(6),
    ]
    assert [e async for e in Tail(any_store, LiveHub(MemoryBus()), job_id, 3).events()][:2] == [
        GapEvent(3, 3),
        ChunkEvent(4, b"four\n"),
    ]
    with pytest.raises(ChunkConflict):  # a straggler after the archive is refused, not hidden
        await any_store.put_chunk(Chunk.create(job_id, 2, b"two\n"))
    assert (await any_store.job_status(job_id)).state is JobState.ABANDONED


async def test_hole_at_the_end(any_store: LogStore, api: httpx.AsyncClient, job_id: str) -> None:
    await abandon(any_store, job_id, [0, 1, 6], final=6)
    events = [e async for e in Tail(any_store, LiveHub(MemoryBus()), job_id, 0).events()]
    assert events[2:] == [GapEvent(2, 5), ChunkEvent(6, b"six\n"), EndEvent(6)]
    assert (await api.get(f"/v1/jobs/{job_id}")).json()["missing"] == [[2, 5]]


async def test_compacted_jobs_take_no_more_chunks(any_store: LogStore, job_id: str) -> None:
    await any_store.put_chunks([Chunk.create(job_id, c, PIECES[c], final=c == 2) for c in range(3)])
    assert await ArchiveJob(any_store, CompactSettings(), "me").run(job_id) is Outcome.COMPACTED
    with pytest.raises(ChunkConflict):
        await any_store.put_chunk(Chunk.create(job_id, 1, PIECES[1]))
    assert [c async for c in any_store.read_chunks(job_id)] == []


async def test_a_job_without_a_final_chunk_is_abandoned_once_idle(
    any_store: LogStore, api: httpx.AsyncClient, job_id: str
) -> None:
    await any_store.put_chunks([Chunk.create(job_id, c, PIECES[c]) for c in (0, 1, 2, 4)])  # no final
    assert await ArchiveJob(any_store, CompactSettings(grace_s=0), "me").run(job_id) is Outcome.NOT_READY
    quiet_step = ArchiveJob(any_store, CompactSettings(grace_s=0), "me", clock=an_hour_later)
    assert await quiet_step.run(job_id) is Outcome.NOT_READY  # an hour of silence: still running
    later = ArchiveJob(any_store, CompactSettings(grace_s=0), "me", clock=a_week_later)
    assert await later.run(job_id) is Outcome.COMPACTED
    meta = (await api.get(f"/v1/jobs/{job_id}")).json()
    assert (meta["state"], meta["final_clock"], meta["missing"]) == ("abandoned", None, [[3, 3]])
    assert meta["complete"] is False
    log = await api.get(f"/v1/jobs/{job_id}/log")
    assert (log.content, log.headers["log-complete"]) == (b"zero\none\ntwo\n", "false")
    events = [e async for e in Tail(any_store, LiveHub(MemoryBus()), job_id, 0).events()]
    assert events[3:] == [GapEvent(3, 3), ChunkEvent(4, b"four\n"), EndEvent(4)]  # the end as archived


async def test_a_job_abandoned_whole_without_a_final_chunk_is_not_complete(
    any_store: LogStore, api: httpx.AsyncClient, job_id: str
) -> None:
    """No hole, no final chunk: the worker may come back with the rest (it reopens the job), so
    a reader that stops at `Log-Complete: true` must not stop here."""
    await any_store.put_chunks([Chunk.create(job_id, c, PIECES[c]) for c in (0, 1)])
    later = ArchiveJob(any_store, CompactSettings(grace_s=0), "me", clock=a_week_later)
    assert await later.run(job_id) is Outcome.COMPACTED
    meta = (await api.get(f"/v1/jobs/{job_id}")).json()
    assert (meta["state"], meta["final_clock"], meta["complete"], meta["missing"]) == (
        "abandoned",
        None,
        False,
        [],
    )
    log = await api.get(f"/v1/jobs/{job_id}/log", headers={"Accept-Encoding": "zstd"})
    assert (log.content, log.headers["log-complete"]) == (b"zero\none\n", "false")
    assert "content-encoding" not in log.headers


async def swept(store: LogStore, settings: CompactSettings, clock: Callable[[], float]) -> set[str]:
    """The jobs one sweep at `clock` requests compaction of."""
    bus = MemoryBus()
    await Sweeper(store, bus, settings, clock=clock).sweep()
    return {bus.requests.get_nowait() for _ in range(bus.requests.qsize())}


async def test_the_sweep_requests_idle_running_jobs(any_store: LogStore, job_id: str) -> None:
    idle = f"{job_id}-idle"
    await any_store.put_chunk(Chunk.create(idle, 0, b"x"))
    written = (await any_store.job_status(idle)).updated_at
    assert written is not None

    def two_seconds_after_the_write() -> float:  # no wall-clock gap is counted on
        return written + 2

    clock = two_seconds_after_the_write
    assert idle in await swept(any_store, CompactSettings(abandon_running_after_s=1), clock)
    # abandon_after_s is for finished jobs with holes; without a final chunk 6 days are allowed
    assert idle not in await swept(any_store, CompactSettings(abandon_after_s=1), clock)

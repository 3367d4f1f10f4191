"""Archiving one job, on SQLite and Cassandra: the archive is the source byte for byte, every read
path gives the same bytes before and after, and repeated or concurrent attempts change nothing."""

from __future__ import annotations

import hashlib
import io
import random

import httpx
import pytest
import zstandard

from benchmarks.harness.corpus import corpus_files
from compactor.archive_job import ArchiveJob, Outcome
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings
from logstore.store import JobState, LogStore
from logstore.store.reopen import reopen
from stream.download import open_view, read_bytes
from stream.fanout import LiveHub
from stream.tail import ChunkEvent, EndEvent, Tail

SETTINGS = CompactSettings(segment_bytes=4096, grace_s=0.5, lease_s=30)


def source_of(size: int, seed: int) -> bytes:
    text = b"".join(p.read_bytes() for p in corpus_files())
    start = random.Random(seed).randrange(len(text))
    return (text[start:] + text)[:size]


async def store_log(store: LogStore, job_id: str, data: bytes, chunk: int) -> list[bytes]:
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    chunks = [Chunk.create(job_id, c, p, final=c == len(pieces) - 1) for c, p in enumerate(pieces)]
    random.Random(3).shuffle(chunks)
    await store.put_chunks(chunks)
    return pieces


@pytest.fixture
def api(app_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return app_client


async def test_archive_is_the_source_and_every_read_agrees(
    any_store: LogStore, api: httpx.AsyncClient, job_id: str
) -> None:
    source = source_of(60_000, seed=1)
    await store_log(any_store, job_id, source, 777)
    before = (await api.get(f"/v1/jobs/{job_id}/log")).content
    assert await ArchiveJob(any_store, SETTINGS, "me").run(job_id) is Outcome.COMPACTED
    archive = await any_store.archive_info(job_id)
    assert archive is not None
    assert archive.sha256 == hashlib.sha256(source).hexdigest()
    # 78 chunks of 777 bytes; a segment closes once it holds 4096 bytes or more: 6 chunks each
    assert (archive.raw_bytes, archive.chunks, archive.segments) == (len(source), 78, 13)
    assert archive.compressed_bytes < len(source)
    assert [c async for c in any_store.read_chunks(job_id)] == []  # the chunks are gone
    meta = (await api.get(f"/v1/jobs/{job_id}")).json()
    assert (meta["state"], meta["bytes"], meta["chunks"], meta["complete"]) == (
        "compacted",
        len(source),
        78,
        True,
    )
    after = await api.get(f"/v1/jobs/{job_id}/log")
    assert after.content == before == source
    assert after.headers["etag"] == f'"{archive.sha256}"'
    assert after.headers["log-complete"] == "true"
    cached = await api.get(f"/v1/jobs/{job_id}/log", headers={"If-None-Match": after.headers["etag"]})
    assert cached.status_code == 304
    ranged = await api.get(f"/v1/jobs/{job_id}/log", headers={"Range": "bytes=4000-12345"})
    assert (ranged.status_code, ranged.content) == (206, source[4000:12346])
    offset = await api.get(f"/v1/jobs/{job_id}/log", params={"offset": 59_000})
    assert offset.content == source[59_000:]


async def test_zstd_is_served_from_the_archive_without_recompressing(
    any_store: LogStore, api: httpx.AsyncClient, job_id: str
) -> None:
    source = source_of(30_000, seed=2)
    await store_log(any_store, job_id, source, 1000)
    await ArchiveJob(any_store, SETTINGS, "me").run(job_id)
    frames = b"".join([s.frame async for s in any_store.read_segments(job_id)])
    async with api.stream("GET", f"/v1/jobs/{job_id}/log", headers={"Accept-Encoding": "zstd"}) as response:
        assert response.headers["content-encoding"] == "zstd"
        body = b"".join([piece async for piece in response.aiter_raw()])
    assert body == frames  # the stored frames, byte for byte
    # several frames in a row are one zstd stream, as any zstd decoder (curl, browsers) reads it
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True)
    assert reader.read() == source


async def test_tail_after_compaction_and_from_any_clock(any_store: LogStore, job_id: str) -> None:
    source = source_of(20_000, seed=3)
    pieces = await store_log(any_store, job_id, source, 512)
    await ArchiveJob(any_store, SETTINGS, "me").run(job_id)
    for start in (0, 7, len(pieces) - 1):
        events = [e async for e in Tail(any_store, LiveHub(MemoryBus()), job_id, start).events()]
        chunks = [e for e in events if isinstance(e, ChunkEvent)]
        assert [e.clock for e in chunks] == list(range(start, len(pieces)))
        assert b"".join(e.data for e in chunks) == b"".join(pieces[start:])
        assert events[-1] == EndEvent(len(pieces) - 1)


async def test_a_download_started_on_chunks_finishes_from_the_archive(
    any_store: LogStore, job_id: str
) -> None:
    source = source_of(50_000, seed=4)
    await store_log(any_store, job_id, source, 1000)
    view = await open_view(any_store, job_id)  # decided on chunks...
    assert view.archive is None
    reader = read_bytes(any_store, view, 0, view.length - 1)
    first = await anext(reader)
    await ArchiveJob(any_store, SETTINGS, "me").run(job_id)  # ...then compacted, chunks removed
    rest = b"".join([piece async for piece in reader])
    assert first + rest == source


async def test_a_download_continues_from_the_chunks_when_its_archive_is_reopened(
    any_store: LogStore, job_id: str
) -> None:
    source = source_of(50_000, seed=5)
    await store_log(any_store, job_id, source, 1000)
    assert await ArchiveJob(any_store, SETTINGS, "me").run(job_id) is Outcome.COMPACTED
    view = await open_view(any_store, job_id)  # decided on the archive...
    assert view.archive is not None
    reader = read_bytes(any_store, view, 0, view.length - 1)
    first = await anext(reader)
    assert await reopen(any_store, job_id)  # ...then reopened: its segments removed
    assert await any_store.segment_refs(job_id) == []
    rest = b"".join([piece async for piece in reader])
    assert first + rest == source


async def test_repeats_and_unready_jobs_change_nothing(any_store: LogStore, job_id: str) -> None:
    job = ArchiveJob(any_store, SETTINGS, "me")
    assert await job.run(job_id) is Outcome.GONE
    await any_store.put_chunks([Chunk.create(job_id, 0, b"a"), Chunk.create(job_id, 2, b"c")])
    assert await job.run(job_id) is Outcome.NOT_READY  # running: no final chunk
    await any_store.put_chunk(Chunk.create(job_id, 3, b"d", final=True))
    assert await job.run(job_id) is Outcome.NOT_READY  # clock 1 still missing after the grace period
    assert (await any_store.job_status(job_id)).state is JobState.FINISHED
    assert await any_store.segment_refs(job_id) == [] or await any_store.archive_info(job_id) is None
    await any_store.put_chunk(Chunk.create(job_id, 1, b"b"))
    assert await any_store.claim(job_id, "someone-else", 30)
    assert await job.run(job_id) is Outcome.BUSY
    await any_store.release(job_id, "someone-else")
    assert await job.run(job_id) is Outcome.COMPACTED
    assert await job.run(job_id) is Outcome.ALREADY
    archive = await any_store.archive_info(job_id)
    assert archive is not None
    assert archive.sha256 == hashlib.sha256(b"abcd").hexdigest()


async def test_zstd_of_a_multi_segment_log_is_one_valid_stream(
    any_store: LogStore, api: httpx.AsyncClient, job_id: str
) -> None:
    source = source_of(200_000, seed=5)
    await store_log(any_store, job_id, source, 3000)
    await ArchiveJob(any_store, SETTINGS, "me").run(job_id)
    assert len(await any_store.segment_refs(job_id)) > 10
    async with api.stream("GET", f"/v1/jobs/{job_id}/log", headers={"Accept-Encoding": "zstd"}) as response:
        body = b"".join([piece async for piece in response.aiter_raw()])
    assert response.headers["content-length"] == str(len(body))
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True)
    assert reader.read() == source

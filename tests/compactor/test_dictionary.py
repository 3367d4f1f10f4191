"""Archives with a trained dictionary, on SQLite and Cassandra: used where it helps, never where
it does not, and every read path decodes it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
import zstandard

from benchmarks.harness.corpus import corpus_files
from benchmarks.harness.processes import run_cli
from compactor.archive_job import ArchiveJob, Outcome
from compactor.dictionary import train
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings
from logstore.store import LogStore
from stream.fanout import LiveHub
from stream.tail import ChunkEvent, Tail


@pytest.fixture(scope="module")
def dictionary() -> bytes:
    logs = [p.read_bytes() for p in corpus_files() if p.name != "docker-compose-pull.sh.raw"]
    return train(logs, 16 * 1024)


@pytest.fixture
def api(app_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return app_client


async def archive(store: LogStore, job_id: str, data: bytes, dictionary: bytes) -> Outcome:
    pieces = [data[i : i + 500] for i in range(0, len(data), 500)]
    await store.put_chunks(
        [Chunk.create(job_id, c, p, final=c == len(pieces) - 1) for c, p in enumerate(pieces)]
    )
    await store.put_dictionary(zstandard.ZstdCompressionDict(dictionary).dict_id(), dictionary)
    return await ArchiveJob(store, CompactSettings(segment_bytes=4096), "me", dictionary).run(job_id)


async def test_a_ci_log_is_archived_with_the_dictionary_and_reads_back(
    any_store: LogStore, api: httpx.AsyncClient, job_id: str, dictionary: bytes
) -> None:
    source = (corpus_files()[0].parent / "docker-compose-pull.sh.raw").read_bytes()  # not trained on
    assert await archive(any_store, job_id, source, dictionary) is Outcome.COMPACTED
    info = await any_store.archive_info(job_id)
    assert info is not None
    assert info.dictionary_id == zstandard.ZstdCompressionDict(dictionary).dict_id()
    assert info.sha256 == hashlib.sha256(source).hexdigest()
    plain = len(zstandard.ZstdCompressor(level=6).compress(source[:4096]))
    first = await anext(any_store.read_segments(job_id))
    assert len(first.frame) < plain  # the dictionary made the first segment smaller
    log = await api.get(f"/v1/jobs/{job_id}/log", headers={"Accept-Encoding": "zstd"})
    assert "content-encoding" not in log.headers  # frames needing a dictionary are never passed through
    assert log.content == source
    ranged = await api.get(f"/v1/jobs/{job_id}/log", headers={"Range": "bytes=500000-600000"})
    assert ranged.content == source[500000:600001]
    events = [e async for e in Tail(any_store, LiveHub(MemoryBus()), job_id, 3).events()]
    assert b"".join(e.data for e in events if isinstance(e, ChunkEvent)) == source[1500:]


async def test_random_bytes_are_archived_without_it(
    any_store: LogStore, job_id: str, dictionary: bytes
) -> None:
    source = os.urandom(20_000)
    assert await archive(any_store, job_id, source, dictionary) is Outcome.COMPACTED
    info = await any_store.archive_info(job_id)
    assert info is not None
    assert info.dictionary_id == 0


def test_dict_train_command(tmp_path: Path) -> None:
    out = tmp_path / "ci.dict"
    done = run_cli(["dict", "train", "--out", str(out), "--size", "8192", *map(str, corpus_files())])
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size <= 8192
    assert f"dictionary {zstandard.ZstdCompressionDict(out.read_bytes()).dict_id()}".encode() in done.stdout
    tiny = tmp_path / "tiny.log"
    tiny.write_bytes(b"one line\n")
    refused = run_cli(["dict", "train", "--out", str(tmp_path / "x"), str(tiny)])
    assert refused.returncode == 2
    assert b"too few" in refused.stderr

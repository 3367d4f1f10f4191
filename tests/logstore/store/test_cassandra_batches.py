"""The Cassandra write path's shapes beyond the conformance suite's one-job batches: a batch holding
one chunk of each of many jobs at the same clock (its digests are read with one statement per
group of jobs) and several chunks of a partition (one unlogged batch). Outcomes per chunk must be
those of the contract, whatever shape the reads and writes take."""

from __future__ import annotations

import time

import pytest

from logstore.chunk import Chunk
from logstore.errors import ChunkConflict
from logstore.store import PutResult
from logstore.store.cassandra import backend
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.cassandra.writes import JOBS_PER_READ
from tests.logstore.store.conformance import log_bytes

pytestmark = pytest.mark.cassandra


@pytest.fixture(params=["acsylla", "cassandra-driver"])
def store(request: pytest.FixtureRequest) -> CassandraStore:
    """The write path through each driver."""
    name = "cassandra_store" if request.param == "acsylla" else "cassandra_python_driver_store"
    store: CassandraStore = request.getfixturevalue(name)
    return store


async def test_one_chunk_of_many_jobs_at_one_clock(store: CassandraStore, job_id: str) -> None:
    jobs = [f"{job_id}-{i}" for i in range(JOBS_PER_READ + 30)]  # two groups of jobs
    first = [Chunk.create(job, 0, f"zero {job}\n".encode()) for job in jobs]
    assert await store.put_chunks(first) == [PutResult.CREATED] * len(jobs)
    again = [Chunk.create(job, 0, f"zero {job}\n".encode()) for job in jobs[:-1]]
    again.append(Chunk.create(jobs[-1], 0, b"other bytes\n"))
    outcomes = await store.put_chunks(again)
    assert outcomes[:-1] == [PutResult.DUPLICATE] * (len(jobs) - 1)
    assert isinstance(outcomes[-1], ChunkConflict)
    following = [Chunk.create(job, 1, b"one\n", final=True) for job in jobs]
    assert await store.put_chunks(following) == [PutResult.CREATED] * len(jobs)
    for job in (jobs[0], jobs[-1]):
        assert await log_bytes(store, job) == f"zero {job}\none\n".encode()
        assert (await store.get_job(job)).final_clock == 1


async def test_many_chunks_of_one_partition_and_of_the_next(store: CassandraStore, job_id: str) -> None:
    pieces = [b"%d\n" % clock for clock in range(300)]  # buckets 0 and 1
    chunks = [Chunk.create(job_id, clock, piece) for clock, piece in enumerate(pieces)]
    assert await store.put_chunks(chunks[::2]) == [PutResult.CREATED] * 150
    outcomes = await store.put_chunks(chunks)
    assert outcomes == [PutResult.DUPLICATE if clock % 2 == 0 else PutResult.CREATED for clock in range(300)]
    assert await log_bytes(store, job_id) == b"".join(pieces)


async def test_a_day_with_more_jobs_than_a_page_lists_them_all(
    store: CassandraStore, job_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day's job list is read page after page (it failed at 5,000 jobs, the driver's first
    page, on a busy day): with pages of 3 rows, 8 new jobs and whatever else today holds."""
    monkeypatch.setattr(backend, "JOBS_PAGE", 3)
    started = time.time()
    jobs = [f"{job_id}-{n}" for n in range(8)]
    assert await store.put_chunks([Chunk.create(job, 0, b"x\n") for job in jobs]) == [PutResult.CREATED] * 8
    listed = await store.list_jobs(started - 1, time.time() + 1, 1_000_000)
    assert sorted(job.job_id for job in listed if job.job_id.startswith(job_id)) == jobs
    assert len({job.job_id for job in listed}) == len(listed)  # no job twice across pages

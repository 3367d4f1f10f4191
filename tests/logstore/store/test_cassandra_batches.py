"""The Cassandra write path's shapes beyond the conformance suite's one-job batches: a batch holding
one chunk of each of many jobs at the same clock (its digests are read with one statement per
group of jobs) and several chunks of a partition (one unlogged batch). Outcomes per chunk must be
those of the contract, whatever shape the reads and writes take."""

from __future__ import annotations

import pytest

from logstore.chunk import Chunk
from logstore.errors import ChunkConflict
from logstore.store import PutResult
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.cassandra.writes import JOBS_PER_READ
from tests.logstore.store.conformance import log_bytes

pytestmark = pytest.mark.cassandra


async def test_one_chunk_of_many_jobs_at_one_clock(cassandra_store: CassandraStore, job_id: str) -> None:
    jobs = [f"{job_id}-{i}" for i in range(JOBS_PER_READ + 30)]  # two groups of jobs
    first = [Chunk.create(job, 0, f"zero {job}\n".encode()) for job in jobs]
    assert await cassandra_store.put_chunks(first) == [PutResult.CREATED] * len(jobs)
    again = [Chunk.create(job, 0, f"zero {job}\n".encode()) for job in jobs[:-1]]
    again.append(Chunk.create(jobs[-1], 0, b"other bytes\n"))
    outcomes = await cassandra_store.put_chunks(again)
    assert outcomes[:-1] == [PutResult.DUPLICATE] * (len(jobs) - 1)
    assert isinstance(outcomes[-1], ChunkConflict)
    following = [Chunk.create(job, 1, b"one\n", final=True) for job in jobs]
    assert await cassandra_store.put_chunks(following) == [PutResult.CREATED] * len(jobs)
    for job in (jobs[0], jobs[-1]):
        assert await log_bytes(cassandra_store, job) == f"zero {job}\none\n".encode()
        assert (await cassandra_store.get_job(job)).final_clock == 1


async def test_many_chunks_of_one_partition_and_of_the_next(
    cassandra_store: CassandraStore, job_id: str
) -> None:
    pieces = [b"%d\n" % clock for clock in range(300)]  # buckets 0 and 1
    chunks = [Chunk.create(job_id, clock, piece) for clock, piece in enumerate(pieces)]
    assert await cassandra_store.put_chunks(chunks[::2]) == [PutResult.CREATED] * 150
    outcomes = await cassandra_store.put_chunks(chunks)
    assert outcomes == [PutResult.DUPLICATE if clock % 2 == 0 else PutResult.CREATED for clock in range(300)]
    assert await log_bytes(cassandra_store, job_id) == b"".join(pieces)

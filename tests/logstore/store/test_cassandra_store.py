from __future__ import annotations

import asyncio

import pytest

from logstore.chunk import Chunk
from logstore.store.archive import ArchiveInfo
from logstore.store.cassandra import statements as cql
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.cassandra.schema import backfill_unarchived
from tests.logstore.store.conformance import StoreConformance, mark_archived, unarchived


@pytest.mark.cassandra
class TestCassandraStore(StoreConformance):
    @pytest.fixture
    def store(self, cassandra_store: CassandraStore) -> CassandraStore:
        return cassandra_store


@pytest.mark.cassandra
class TestCassandraStoreWritingThroughThePythonDriver(StoreConformance):
    @pytest.fixture
    def store(self, cassandra_python_driver_store: CassandraStore) -> CassandraStore:
        return cassandra_python_driver_store


@pytest.mark.cassandra
async def test_a_reopened_job_is_listed_again(cassandra_store: CassandraStore, job_id: str) -> None:
    await cassandra_store.put_chunk(Chunk.create(job_id, 0, b"x", final=True))
    await mark_archived(cassandra_store, job_id, ArchiveInfo("ab" * 32, 1, 2, 1, 1, 0))
    assert job_id not in await unarchived(cassandra_store, page=1000)
    await cassandra_store.index_unarchived(job_id)
    await cassandra_store.index_unarchived(job_id)  # idempotent
    assert (await unarchived(cassandra_store, page=1000)).count(job_id) == 1


@pytest.mark.cassandra
async def test_schema_version_8_lists_the_unarchived_jobs_that_were_there_before(
    cassandra_store: CassandraStore, job_id: str
) -> None:
    """As on a keyspace of an older release: job rows without their unarchived_jobs row."""
    running, archived = f"{job_id}-running", f"{job_id}-archived"
    for job in (running, archived):
        await cassandra_store.put_chunk(Chunk.create(job, 0, b"x"))
    await mark_archived(cassandra_store, archived, ArchiveInfo("ab" * 32, 1, 2, 1, 1, 0, abandoned=True))
    await cassandra_store._run("DELETE_UNARCHIVED", cql.unarchived_shard(running), running)
    assert running not in await unarchived(cassandra_store, page=1000)
    ks = cassandra_store.target.keyspace
    await asyncio.to_thread(backfill_unarchived, cassandra_store._session, ks)
    await asyncio.to_thread(backfill_unarchived, cassandra_store._session, ks)  # idempotent
    listed = await unarchived(cassandra_store, page=1000)
    assert (listed.count(running), listed.count(archived)) == (1, 0)

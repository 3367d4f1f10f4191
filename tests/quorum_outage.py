"""A partial Cassandra outage on the single test node: `system.local` answers, every QUORUM write
fails with Unavailable. A keyspace of its own is replicated 3 times (SimpleStrategy) on one node,
so a QUORUM write needs 2 replicas and finds 1 alive; altering it back to 1 replica ends the
outage at once (the quorum of 1 is 1), without touching the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from cassandra.cluster import Cluster, Session

from logstore.store.cassandra.schema import apply_schema
from logstore.store.cassandra.url import parse_cassandra_url
from tests.servers import require_cassandra

ALTER = "ALTER KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {rf}}}"


@dataclass
class QuorumOutage:
    url: str  # the keyspace, written at QUORUM through the Python driver and acsylla alike
    keyspace: str
    session: Session

    async def start(self) -> None:
        """From now on every QUORUM write is refused (2 replicas needed, 1 alive)."""
        await self._replicas(3)

    async def end(self) -> None:
        await self._replicas(1)

    async def _replicas(self, count: int) -> None:
        statement = ALTER.format(ks=self.keyspace, rf=count)
        await asyncio.to_thread(self.session.execute, statement, timeout=60)


@pytest.fixture
async def quorum_outage(job_id: str) -> AsyncIterator[QuorumOutage]:
    """A keyspace of this test's own with the logstore schema, writable until `start()`; dropped
    after the test."""
    base = parse_cassandra_url(require_cassandra())
    keyspace = f"outage_{job_id.replace('-', '_')}"[:48]
    url = f"cassandra://{','.join(base.hosts)}:{base.port}/{keyspace}?consistency=QUORUM"
    await apply_schema(parse_cassandra_url(url))  # replication 1: the schema's writes succeed
    cluster = Cluster(list(base.hosts), port=base.port, protocol_version=5)
    session = await asyncio.to_thread(cluster.connect)
    try:
        yield QuorumOutage(url, keyspace, session)
    finally:
        await asyncio.to_thread(session.execute, f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
        await asyncio.to_thread(cluster.shutdown)

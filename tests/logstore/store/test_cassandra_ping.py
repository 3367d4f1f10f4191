"""The Cassandra store's ping (readiness, and the ingester's probe while paused) proves that the
store takes writes at the write consistency, not only that a node answers."""

from __future__ import annotations

import pytest
from cassandra import ConsistencyLevel
from cassandra.query import SimpleStatement

from logstore.errors import StoreUnavailable
from logstore.store.cassandra.backend import CassandraStore
from tests.quorum_outage import QuorumOutage, quorum_outage

__all__ = ["quorum_outage"]

pytestmark = [pytest.mark.cassandra, pytest.mark.timeout(180)]


async def test_ping_fails_while_quorum_writes_fail_though_system_local_answers(
    quorum_outage: QuorumOutage,
) -> None:
    store = await CassandraStore.connect(quorum_outage.url)
    try:
        await store.ping()
        await quorum_outage.start()
        local = SimpleStatement("SELECT release_version FROM system.local")
        local.consistency_level = ConsistencyLevel.QUORUM
        assert quorum_outage.session.execute(local).one() is not None  # the node answers reads
        with pytest.raises(StoreUnavailable, match="Unavailable"):
            await store.ping()
        await quorum_outage.end()
        await store.ping()
    finally:
        await store.close()

"""The fault suite on the 3-node RabbitMQ (`make faults`, not `make test`): one broker node of three
SIGKILLed for 60 s at half of the pipeline's peak measured on this broker cluster first
(tests/faults/half_peak.py), chunks from 1.6 KB to 1 MiB, with the single test Cassandra as the
store. Every process
(publisher, 2 ingesters, streamer, compactor) is given all three URLs.

The ingest queue is declared first through node 3, so its leader is there (RabbitMQ places a quorum
queue's leader on the declaring client's node), while the fleet connects to node 1: one row kills
node 1 (every connection fails over; the queue keeps its leader), the other kills the leader's node
(the connections stay; the two followers elect a new leader). Every time: no chunk lost, no byte out
of order, every viewer exact, chunks flowing again through the two other nodes while the third is
down (the failover time is in the table's "observed" column), live again after it is back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import pytest

from logstore.bus import topology
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings
from logstore.store.cassandra.backend import CassandraStore
from tests.faults.faults import Fault
from tests.faults.fleet import Fleet
from tests.faults.half_peak import MIX, FaultLoad, half_of_peak
from tests.faults.rabbitmq_faults import RABBITMQ_CLUSTER_FAULTS, cluster_urls
from tests.faults.scenario import FaultResult, run_fault
from tests.servers import require_cassandra, require_port

pytestmark = [pytest.mark.rabbitmq_cluster, pytest.mark.cassandra, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def broker_cluster_load(tmp_path_factory: pytest.TempPathFactory) -> FaultLoad:
    for node in (1, 2, 3):
        require_port("127.0.0.1", 5680 + node, f"RabbitMQ node {node}", "scripts/rabbitmq-cluster.sh up")
    bus = BusSettings(bus=cluster_urls(1))
    return half_of_peak(require_cassandra(), bus, tmp_path_factory.mktemp("peak"), "the 3-node RabbitMQ")


@pytest.fixture
async def cluster_bus(job_id: str) -> AsyncIterator[BusSettings]:
    for node in (1, 2, 3):
        require_port("127.0.0.1", 5680 + node, f"RabbitMQ node {node}", "scripts/rabbitmq-cluster.sh up")
    # declare the queues through node 3 so that their leader is there, not on the fleet's node 1
    declaring = BusSettings(bus=cluster_urls(3)).namespaced(job_id)
    await (await ChunkPublisher.connect(declaring)).close()
    settings = BusSettings(bus=cluster_urls(1)).namespaced(job_id)
    yield settings
    connection = await aio_pika.connect(settings.urls[0])  # node 1: back up after every fault
    async with connection:
        await topology.delete_all(await connection.channel(), settings)


@pytest.mark.parametrize("fault", RABBITMQ_CLUSTER_FAULTS, ids=lambda fault: fault.name)
async def test_broker_node_fault_under_steady_load(
    fault: Fault,
    cluster_bus: BusSettings,
    broker_cluster_load: FaultLoad,
    cassandra_store: CassandraStore,  # schema applied
    tmp_path: Path,
    job_id: str,
    record_fault: list[FaultResult],
) -> None:
    load = broker_cluster_load
    fleet = Fleet(
        require_cassandra(), cluster_bus, tmp_path, prefix=job_id, mix=MIX, rate_note=load.note, warm_up_s=12
    )
    fleet.slots = load.slots(fleet.interval_s)
    result = await run_fault(fleet, fault, "rabbitmq-cluster")
    record_fault.append(result)
    assert "queue leader was 3" in result.observed, result  # the set-up placed it as intended
    assert "NOT live" not in result.observed, result  # the two other nodes carried the load meanwhile
    assert result.chunks_lost == 0, result
    assert result.out_of_order == 0, result
    assert result.duplicates == 0, result
    assert result.viewer_mismatches == 0, result
    assert result.recovery_s is not None, result  # live again (within the 120 s liveness bound)

"""The fault suite on the single test node (part of `make test`): an ingester, the streamer and
the compactor SIGKILLed mid-load, RabbitMQ restarted and Cassandra frozen for 15 s, each under
steady load. Every time: no chunk lost, no byte out of order, every viewer exact, and the pipeline
live again afterwards. The recovery time is measured and reported in the fault table, not held
to a bound: `make test` checks correctness, not timings. This set runs the light load (about 24
chunks/s of 1.6 KB chunks); `make faults` runs its rows at half of a measured peak."""

from __future__ import annotations

from pathlib import Path

import pytest

from logstore.config import BusSettings
from logstore.store.cassandra.backend import CassandraStore
from tests.faults.faults import SINGLE_NODE_FAULTS, Fault
from tests.faults.fleet import Fleet
from tests.faults.scenario import FaultResult, run_fault
from tests.servers import require_cassandra

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(600)]


@pytest.mark.parametrize("fault", SINGLE_NODE_FAULTS, ids=lambda fault: fault.name)
async def test_fault_under_steady_load(
    fault: Fault,
    bus_settings: BusSettings,
    cassandra_store: CassandraStore,  # schema applied
    tmp_path: Path,
    job_id: str,
    record_fault: list[FaultResult],
) -> None:
    fleet = Fleet(require_cassandra(), bus_settings, tmp_path, prefix=job_id)
    result = await run_fault(fleet, fault, "single")
    record_fault.append(result)
    assert result.chunks_lost == 0, result
    assert result.out_of_order == 0, result
    assert result.duplicates == 0, result
    assert result.viewer_mismatches == 0, result
    assert result.recovery_s is not None, result  # live again (within the 120 s liveness bound)

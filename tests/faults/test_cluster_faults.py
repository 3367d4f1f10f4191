"""The fault suite on the 3-node cluster (`make faults`, not part of `make test`), at half of the
pipeline's peak measured on this cluster first (tests/faults/half_peak.py), with chunks from 1.6 KB
to 1 MiB: the process faults again, one Cassandra node of three SIGKILLed for 60 s, one frozen for
15 s, one SIGKILLed while the compactor writes a job's segments, and an ingester killed by the
kernel's OOM killer at a memory cgroup's limit; replication 3 and QUORUM reads and writes. Every
time: no chunk lost, no frame out of order or twice at a viewer, every viewer exact, the pipeline
live again afterwards (the recovery time is in the table)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from benchmarks.processes import run_cli
from logstore.config import BusSettings
from tests.faults.faults import CLUSTER_FAULTS, Fault
from tests.faults.fleet import Fleet
from tests.faults.half_peak import MIX, FaultLoad, half_of_peak
from tests.faults.scenario import FaultResult, run_fault
from tests.servers import require_rabbitmq

pytestmark = [pytest.mark.cluster, pytest.mark.rabbitmq, pytest.mark.timeout(900)]

CLUSTER_URL = (
    "cassandra://127.0.0.1:9043,127.0.0.2:9043,127.0.0.3:9043/logstore_faults"
    "?consistency=QUORUM&replication=3"
)


@pytest.fixture(scope="module")
def cluster_store() -> str:
    for node in (1, 2, 3):
        try:
            socket.create_connection((f"127.0.0.{node}", 9043), timeout=3).close()
        except OSError as exc:
            pytest.fail(f"cluster node {node} is not up ({exc}); start it with `scripts/cluster.sh up`")
    done = run_cli(["schema", "apply", "--store", CLUSTER_URL], timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return CLUSTER_URL


@pytest.fixture(scope="module")
def cluster_load(cluster_store: str, tmp_path_factory: pytest.TempPathFactory) -> FaultLoad:
    bus = BusSettings(bus=require_rabbitmq())
    return half_of_peak(cluster_store, bus, tmp_path_factory.mktemp("peak"), "the 3-node Cassandra")


@pytest.mark.parametrize("fault", CLUSTER_FAULTS, ids=lambda fault: fault.name)
async def test_fault_under_steady_load_on_the_cluster(
    fault: Fault,
    cluster_store: str,
    cluster_load: FaultLoad,
    bus_settings: BusSettings,
    tmp_path: Path,
    job_id: str,
    record_fault: list[FaultResult],
) -> None:
    fleet = Fleet(
        cluster_store,
        bus_settings,
        tmp_path,
        prefix=job_id,
        mix=MIX,
        rate_note=cluster_load.note,
        warm_up_s=12,
    )
    fleet.slots = cluster_load.slots(fleet.interval_s)
    result = await run_fault(fleet, fault, "cluster")
    record_fault.append(result)
    assert result.chunks_lost == 0, result
    assert result.out_of_order == 0, result
    assert result.duplicates == 0, result
    assert result.viewer_mismatches == 0, result
    assert result.recovery_s is not None, result  # live again (within the 120 s liveness bound)
    assert "NOT" not in result.observed, result  # the fault happened as intended

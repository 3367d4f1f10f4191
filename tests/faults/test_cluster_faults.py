"""The fault suite on the 3-node cluster (`make faults`, not part of `make test`): the process
faults again, plus one Cassandra node of three SIGKILLed for 60 s and one frozen for 15 s, with
replication 3 and QUORUM reads and writes. Every time: no chunk lost, no byte out of order,
caught up within 10 s of the fault's end."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from benchmarks.processes import run_cli
from logstore.config import BusSettings
from tests.faults.faults import CLUSTER_FAULTS, Fault
from tests.faults.fleet import Fleet
from tests.faults.scenario import RECOVERY_LIMIT_S, FaultResult, run_fault

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


@pytest.mark.parametrize("fault", CLUSTER_FAULTS, ids=lambda fault: fault.name)
async def test_fault_under_steady_load_on_the_cluster(
    fault: Fault,
    cluster_store: str,
    bus_settings: BusSettings,
    tmp_path: Path,
    job_id: str,
    record_fault: list[FaultResult],
) -> None:
    fleet = Fleet(cluster_store, bus_settings, tmp_path, prefix=job_id)
    result = await run_fault(fleet, fault, "cluster")
    record_fault.append(result)
    assert result.chunks_lost == 0, result
    assert result.out_of_order == 0, result
    assert result.viewer_mismatches == 0, result
    assert result.recovery_s is not None, result
    assert result.recovery_s <= RECOVERY_LIMIT_S, result

"""The faults the suite injects, each under the fleet's steady load. Every injector returns once
the fault is over (the process restarted, the server back) with a line saying what it saw."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from benchmarks.processes import metric_value
from tests.faults.fleet import Fleet
from tests.servers import server_script

Injector = Callable[[Fleet], Awaitable[str]]


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Injector
    also_compaction: bool = False  # recovery includes the compaction backlog


async def _watch_lag(fleet: Fleet, seconds: float) -> int:
    """Sleep through a fault, returning the largest delivery backlog seen meanwhile."""
    worst = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        worst = max(worst, fleet.delivery_lag())
        await asyncio.sleep(0.1)
    return worst


def kill_role(kind: str) -> Injector:
    async def inject(fleet: Fleet) -> str:
        role = fleet.roles[kind][0]
        busy = ""
        if kind == "compact":  # kill it while it holds a job, not between jobs
            for _ in range(300):
                if metric_value(role.metrics(), "logstore_compactor_in_progress") > 0:
                    busy = " while compacting"
                    break
                await asyncio.sleep(0.1)
        pid = role.process.pid
        role.kill()
        lag = await _watch_lag(fleet, 1.0)  # a supervisor's restart delay
        await asyncio.to_thread(role.restart().wait_ready)
        return f"SIGKILL {kind} pid {pid}{busy}; restarted on the same port; backlog peaked at {lag} chunks"

    return inject


async def restart_rabbitmq(fleet: Fleet) -> str:
    retries = fleet.publish_retries
    started = time.monotonic()
    await asyncio.to_thread(server_script, "rabbitmq", "restart")
    return (
        f"broker down and up in {time.monotonic() - started:.1f} s; "
        f"{fleet.publish_retries - retries} publishes retried until confirmed"
    )


def breaker_opens(fleet: Fleet) -> float:
    name = 'logstore_ingest_store_breaker_transitions_total{state="open"}'
    return sum(metric_value(role.metrics(), name) for role in fleet.roles["ingest"])


def freeze_cassandra(script: str, node: str | None, seconds: float) -> Injector:
    where = () if node is None else (node,)

    async def inject(fleet: Fleet) -> str:
        opens = breaker_opens(fleet)
        await asyncio.to_thread(server_script, script, "freeze", *where)
        try:
            lag = await _watch_lag(fleet, seconds)
        finally:
            await asyncio.to_thread(server_script, script, "thaw", *where)
        node_text = f"node {node}" if node else "the node"
        return (
            f"SIGSTOP {node_text} for {seconds:.0f} s; backlog peaked at {lag} chunks; "
            f"ingest breaker opened {breaker_opens(fleet) - opens:.0f} times"
        )

    return inject


def kill_cluster_node(node: str, seconds: float) -> Injector:
    async def inject(fleet: Fleet) -> str:
        await asyncio.to_thread(server_script, "cluster", "kill", node)
        lag = await _watch_lag(fleet, seconds)
        started = time.monotonic()
        await asyncio.to_thread(server_script, "cluster", "start", node)
        return (
            f"SIGKILL node {node} for {seconds:.0f} s (QUORUM of 3 kept writing); backlog peaked at "
            f"{lag} chunks; node back in {time.monotonic() - started:.0f} s"
        )

    return inject


PROCESS_FAULTS = [
    Fault("SIGKILL an ingester", kill_role("ingest")),
    Fault("SIGKILL the streamer", kill_role("stream")),
    Fault("SIGKILL the compactor mid-job", kill_role("compact"), also_compaction=True),
    Fault("restart RabbitMQ", restart_rabbitmq, also_compaction=True),
]
SINGLE_NODE_FAULTS = [
    *PROCESS_FAULTS,
    Fault("SIGSTOP Cassandra 15 s", freeze_cassandra("cassandra", None, 15)),
]
CLUSTER_FAULTS = [
    *PROCESS_FAULTS,
    Fault("SIGKILL 1 of 3 Cassandra nodes 60 s", kill_cluster_node("3", 60)),
    Fault("SIGSTOP 1 of 3 Cassandra nodes 15 s", freeze_cassandra("cluster", "2", 15)),
]

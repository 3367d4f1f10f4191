"""The faults the suite injects, each under the fleet's steady load. Every injector returns once
the fault is over (the process restarted, the server back) with a line saying what it saw."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from benchmarks.processes import metric_value
from tests.faults.fleet import Fleet
from tests.faults.oom import oom_kill_ingester
from tests.servers import server_script

Injector = Callable[[Fleet], Awaitable[str]]


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Injector
    also_compaction: bool = False  # recovery includes the compaction backlog


async def until_compacting(fleet: Fleet, within_s: float = 30.0) -> bool:
    """Wait until the compactor holds a job (it is writing a job's segments); False if it never
    did within `within_s`."""
    compactor = fleet.roles["compact"][0]
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        page = await asyncio.to_thread(compactor.metrics)
        if metric_value(page, "logstore_compactor_in_progress") > 0:
            return True
        await asyncio.sleep(0.1)
    return False


def kill_role(kind: str) -> Injector:
    async def inject(fleet: Fleet) -> str:
        role = fleet.roles[kind][0]
        busy = ""
        if kind == "compact" and await until_compacting(fleet):  # while it holds a job
            busy = " while compacting"
        pid = role.process.pid
        role.kill()
        lag = await fleet.watch_lag(1.0)  # a supervisor's restart delay
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
            lag = await fleet.watch_lag(seconds)
        finally:
            await asyncio.to_thread(server_script, script, "thaw", *where)
        node_text = f"node {node}" if node else "the node"
        return (
            f"SIGSTOP {node_text} for {seconds:.0f} s; backlog peaked at {lag} chunks; "
            f"ingest breaker opened {breaker_opens(fleet) - opens:.0f} times"
        )

    return inject


def kill_cluster_node(node: str, seconds: float, while_compacting: bool = False) -> Injector:
    async def inject(fleet: Fleet) -> str:
        when = ""
        if while_compacting:
            busy = await until_compacting(fleet)
            when = " while the compactor wrote a job's segments" if busy else " (the compactor was NOT busy)"
        await asyncio.to_thread(server_script, "cluster", "kill", node)
        lag = await fleet.watch_lag(seconds)
        started = time.monotonic()
        await asyncio.to_thread(server_script, "cluster", "start", node)
        return (
            f"SIGKILL node {node}{when} for {seconds:.0f} s (QUORUM of 3 kept writing); backlog peaked at "
            f"{lag} chunks; node back in {time.monotonic() - started:.0f} s"
        )

    return inject


def delay_cluster_node(node: str, seconds: float) -> Injector:
    """Requests to one node of three arrive 200 ms late (scripts/cluster.sh delay: a proxy in
    front of its CQL port), for `seconds`."""

    async def inject(fleet: Fleet) -> str:
        await asyncio.to_thread(server_script, "cluster", "delay", node)
        try:
            lag = await fleet.watch_lag(seconds)
        finally:
            await asyncio.to_thread(server_script, "cluster", "undelay", node)
        return f"requests to node {node} delayed 200 ms for {seconds:.0f} s; backlog peaked at {lag} chunks"

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
    Fault(
        "SIGKILL 1 of 3 Cassandra nodes mid-compaction, 30 s",
        kill_cluster_node("3", 30, while_compacting=True),
        also_compaction=True,
    ),
    Fault("OOM-kill an ingester (cgroup memory limit)", oom_kill_ingester),
    Fault("200 ms delay to 1 of 3 Cassandra nodes, 60 s", delay_cluster_node("2", 60)),
]

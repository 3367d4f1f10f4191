"""Faults of one RabbitMQ node of three (scripts/rabbitmq-cluster.sh): every process lists all three
brokers in --bus and fails over (logstore/bus/failover.py)."""

from __future__ import annotations

import asyncio
import subprocess
import time

from tests.faults.faults import Fault, Injector
from tests.faults.fleet import Fleet
from tests.servers import SCRIPTS, server_script

NODES = (1, 2, 3)


def cluster_urls(first: int) -> str:
    """The three nodes' URLs, node `first` first: processes connect to the first that answers."""
    order = [first, *(n for n in NODES if n != first)]
    return ",".join(f"amqp://guest:guest@127.0.0.1:{5680 + n}/" for n in order)


def leader_of(queue: str) -> int:
    done = subprocess.run(
        [str(SCRIPTS / "rabbitmq-cluster.sh"), "leader", queue], capture_output=True, timeout=120, check=True
    )
    return int(done.stdout.decode().strip())


def kill_rabbitmq_node(which: str, seconds: float) -> Injector:
    """SIGKILL a node for `seconds`: "connected" = the node every process of the fleet is connected
    to (the first of its URLs), "leader" = the node holding the ingest queue's leader."""

    async def inject(fleet: Fleet) -> str:
        queue = fleet.bus.ingest_queue
        leader = await asyncio.to_thread(leader_of, queue)
        node = int(fleet.bus.urls[0].rpartition(":")[2].strip("/")) - 5680 if which == "connected" else leader
        retries = fleet.publish_retries
        await asyncio.to_thread(server_script, "rabbitmq-cluster", "kill", str(node))
        killed = time.monotonic()
        # while the node is down: how soon chunks flow again through the other two, and the backlog
        failover_s, lag = await asyncio.gather(
            fleet.wait_recovered(killed, seconds), fleet.watch_lag(seconds)
        )
        failover = "NOT live while it was down"
        if failover_s is not None:
            failover = f"live {failover_s:.1f} s after the kill"
        new_leader = await asyncio.to_thread(leader_of, queue)
        started = time.monotonic()
        await asyncio.to_thread(server_script, "rabbitmq-cluster", "start", str(node))
        back = time.monotonic() - started
        return (
            f"SIGKILL RabbitMQ node {node} ({which}; queue leader was {leader}, then {new_leader}) "
            f"for {seconds:.0f} s; pipeline {failover}; backlog peaked at {lag} chunks; "
            f"{fleet.publish_retries - retries} publishes retried; node back in {back:.0f} s"
        )

    return inject


RABBITMQ_CLUSTER_FAULTS = [
    Fault("SIGKILL the RabbitMQ node all processes use, 60 s", kill_rabbitmq_node("connected", 60)),
    Fault("SIGKILL the RabbitMQ node of the queue leader, 60 s", kill_rabbitmq_node("leader", 60)),
]

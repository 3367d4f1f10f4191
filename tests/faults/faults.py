"""The faults the suite injects, each under the fleet's steady load. Every injector returns once
the fault is over (the process restarted, the server back) with a line saying what it saw."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from benchmarks.harness.processes import metric_value
from tests.faults.fleet import Fleet
from tests.faults.oom import oom_kill_ingester
from tests.servers import server_script

Injector = Callable[[Fleet], Awaitable[str]]


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Injector
    also_compaction: bool = False  # recovery includes the compaction backlog
    recovery_within_s: float = 120.0  # the row fails if the pipeline is not live again by then


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


# How long a loss of QUORUM must last to have dead-lettered good chunks before caf9f4c. Then an
# ingester whose batch the store refused nacked it (one delivery counted per message), paused,
# and probed the store after max(1 s, the breaker's 2 s reset) x 0.8-1.2; the probe read
# system.local, which node 1 answered, so it consumed again at once, got the same messages back
# (a quorum queue delivers its returns first), failed to store them again (4 attempts, waits of at
# most 0.1 + 0.2 + 0.4 s) and nacked them again. One round took 0.8 to 3.1 s, so the ingest
# queue's x-delivery-limit (50) was spent within 50 x 3.1 = 155 s at the slowest, sooner with two
# ingesters sharing the returns. (Had it nacked once per probe of today's schedule, 1 s doubling
# to 10 s, 50 rounds would take 465 s at most; the row does not wait that long: the measure of
# the fix is that the outage spends no delivery at all, `logstore_ingest_redeliveries_total`.)
OLD_ROUND_S = 3.1
DELIVERY_LIMIT = 50  # BusSettings.delivery_limit, the fleet's setting
OUTLASTS_S = DELIVERY_LIMIT * OLD_ROUND_S
QUORUM_LOSS_S = 160.0  # both nodes down this long; writes stay refused until the first is back
READY_POLL_S = 1.0


@dataclass
class QuorumLoss:
    """Two of the three nodes SIGKILLed for `seconds`, then started again one after the other:
    node 1 alone answers the drivers (system.local, the control connection) while every QUORUM
    write of replication 3 fails (1 replica of the 2 needed). Meanwhile each ingester's /readyz is
    asked every second, and its held messages watched. Returns once every ingester is ready again."""

    nodes: tuple[str, ...] = ("2", "3")
    seconds: float = QUORUM_LOSS_S
    # (s after the kill, ingester, /readyz status or 0 for no answer)
    answers: list[tuple[float, int, int]] = field(default_factory=list)
    restarted_at_s: float = 0.0  # s after the kill when the first node was started again
    held_peak: int = 0  # the most messages the ingesters held at once (logstore_ingest_held_messages)
    counted: dict[str, float] = field(default_factory=dict)  # ingest counters' increase over the fault

    def first_503_s(self, ingester: int) -> float | None:
        return next((t for t, i, status in self.answers if i == ingester and status == 503), None)

    def in_outage(self, ingester: int, status: int) -> int:
        """Answers `status` from the ingester between its first 503 and the first node's restart."""
        first = self.first_503_s(ingester)
        if first is None:
            return 0
        return sum(
            1
            for t, i, s in self.answers
            if i == ingester and s == status and first <= t < self.restarted_at_s
        )

    @property
    def ingesters(self) -> list[int]:
        return sorted({i for _, i, _ in self.answers})

    @property
    def refused_s(self) -> float | None:
        """From the kill until the first /readyz 200 after the restart began: how long the store
        refused writes at QUORUM, as readiness saw it."""
        ready = [t for t, _, status in self.answers if status == 200 and t >= self.restarted_at_s]
        return min(ready) if ready else None

    def ready_again(self) -> bool:
        return all(
            any(i == ingester and s == 200 and t >= self.restarted_at_s for t, i, s in self.answers)
            for ingester in self.ingesters
        )

    async def _watch(self, fleet: Fleet, index: int, killed: float) -> None:
        role = fleet.roles["ingest"][index]
        async with httpx.AsyncClient(base_url=role.base, timeout=15) as client:
            while True:
                asked = time.monotonic()
                try:
                    status = (await client.get("/readyz")).status_code
                except httpx.HTTPError:
                    status = 0
                self.answers.append((asked - killed, index, status))
                with contextlib.suppress(httpx.HTTPError):
                    page = (await client.get("/metrics")).text
                    self.held_peak = max(
                        self.held_peak, int(metric_value(page, "logstore_ingest_held_messages"))
                    )
                await asyncio.sleep(max(0.0, READY_POLL_S - (time.monotonic() - asked)))

    async def _counters(self, fleet: Fleet) -> dict[str, float]:
        names = {
            "dead_letters": "logstore_ingest_dead_letters_total",
            "redeliveries": "logstore_ingest_redeliveries_total",
            "probes_refused": 'logstore_ingest_store_probes_total{result="refused"}',
            "probes_ok": 'logstore_ingest_store_probes_total{result="ok"}',
            "fresh": "logstore_ingest_requeued_fresh_total",
        }
        return {key: await fleet.ingest_metric(name) for key, name in names.items()}

    async def __call__(self, fleet: Fleet) -> str:
        before = await self._counters(fleet)
        killed = time.monotonic()
        for node in self.nodes:
            await asyncio.to_thread(server_script, "cluster", "kill", node)
        watching = [
            asyncio.create_task(self._watch(fleet, index, killed))
            for index in range(len(fleet.roles["ingest"]))
        ]
        back: list[float] = []
        try:
            lag = await fleet.watch_lag(self.seconds)
            self.restarted_at_s = time.monotonic() - killed
            for node in self.nodes:
                started = time.monotonic()
                await asyncio.to_thread(server_script, "cluster", "start", node)
                back.append(time.monotonic() - started)
            for _ in range(600):  # every ingester ready again, within 120 s
                if self.ready_again():
                    break
                await asyncio.sleep(0.2)
        finally:
            for task in watching:
                task.cancel()
            await asyncio.gather(*watching, return_exceptions=True)
        after = await self._counters(fleet)
        self.counted = {key: after[key] - before[key] for key in before}
        return self.describe(lag, back)

    def describe(self, lag: int, back: list[float]) -> str:
        refused = "until the end" if self.refused_s is None else f"for {self.refused_s:.0f} s"
        firsts = [self.first_503_s(i) for i in self.ingesters]
        noticed = [first for first in firsts if first is not None]
        not_ready = sum(self.in_outage(i, 503) for i in self.ingesters)
        ready = sum(self.in_outage(i, 200) for i in self.ingesters)
        unanswered = sum(self.in_outage(i, 0) for i in self.ingesters)
        c = self.counted
        nodes = " and ".join(self.nodes)
        if noticed and len(noticed) == len(firsts):
            readiness = (
                f"/readyz of every ingester 503 from {max(noticed):.1f} s after the kill until the "
                f"restart: {not_ready} answers 503, {ready} answered 200, {unanswered} unanswered"
            )
        else:
            readiness = "/readyz was NOT 503 at every ingester"
        held = f"held up to {self.held_peak} messages" if self.held_peak else "NOT seen holding messages"
        return (
            f"SIGKILL nodes {nodes} for {self.seconds:.0f} s (node 1 answers, QUORUM writes refused); "
            f"writes refused {refused} (the old nack per round "
            f"spent the delivery limit of {DELIVERY_LIMIT} within {OUTLASTS_S:.0f} s); {readiness}; "
            f"ingesters paused, {held}, {c['probes_refused']:.0f} store probes refused, "
            f"{c['redeliveries']:.0f} redeliveries, {c['fresh']:.0f} fresh copies, "
            f"{c['dead_letters']:.0f} dead-lettered by the ingesters; "
            f"nodes back in {' s and '.join(f'{s:.0f}' for s in back)} s; backlog peaked at {lag} chunks"
        )


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

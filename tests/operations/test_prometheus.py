"""Operating it: a real Prometheus (Debian's package, scripts/prometheus.sh) scrapes every role
under a short real load; every query of the Grafana dashboard returns series; the alert rules
pass promtool; and under real faults the matching alert fires:

- a poison message -> LogstoreDeadLetters (reason malformed_headers);
- every ingester killed -> LogstoreIngestionStopped and LogstoreProcessDown;
- the store cut off -> LogstoreStoreBreakerOpen, and LogstoreHttp5xx for the HTTP writes it
  answers 503 meanwhile. The ingesters reach the shared Cassandra through
  a TCP proxy the test cuts (connections reset, new ones refused): to them Cassandra is gone,
  while the node other tests use keeps running.

The rules are loaded with every `for:` shortened to FAST_FOR_S (expressions unchanged; the
production durations are covered by the promtool unit tests), scrapes and evaluations every
second. Each alert, its fault and the seconds it took are printed and written to
results/alerts.md.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import httpx
import pytest

from benchmarks.harness.processes import Role, free_port
from benchmarks.harness.viewer import watch
from benchmarks.harness.workload import Job, make_jobs, wait_complete
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings
from logstore.store.cassandra.backend import CassandraStore
from tests.operations.prometheus import (
    DEPLOY,
    RULES,
    SCRAPE_S,
    Firing,
    Prometheus,
    dashboard_queries,
    fast_rules,
)
from tests.operations.tcp_proxy import TcpProxy
from tests.servers import require_cassandra, require_port

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(900)]
RESULTS = Path(__file__).resolve().parents[2] / "results" / "alerts.md"
# From the fault to firing: detection (a store timeout, a scrape) + `for:` + an evaluation; generous.
FIRE_WITHIN_S = 120.0


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is not installed: `scripts/prometheus.sh up` installs Debian's prometheus")
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120, check=False)


def test_the_rules_pass_promtool() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", str(DEPLOY / "prometheus" / "alerts_test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[Prometheus, dict[str, float]]]:
    rules = tmp_path / "alerts-fast.yml"
    durations = fast_rules(rules)
    server = Prometheus(tmp_path / "prometheus", free_port(), rules)
    server.script("up")
    yield server, durations
    server.script("down")


async def publish_load(publisher: ChunkPublisher, jobs: list[Job], final: bool) -> None:
    """Chunks with their sent_at (for the end-to-end latency), the last one final if `final`."""
    for job in jobs:
        for clock, piece in enumerate(job.pieces):
            last = final and clock == len(job.pieces) - 1
            await publisher.publish(job.job_id, clock, piece, last, sent_at=time.time())


async def http_writes(ingest: Role, job_id: str, count: int) -> set[int]:
    """PUT `count` chunks of one job; the set of statuses answered."""
    async with httpx.AsyncClient(timeout=30) as client:
        url = f"{ingest.base}/v1/jobs/{job_id}/chunks"
        replies = [await client.put(f"{url}/{clock}", content=b"line\n") for clock in range(count)]
    return {reply.status_code for reply in replies}


async def keep_writing(ingest: Role, job_id: str, statuses: set[int]) -> None:
    """PUT a chunk every half second until cancelled, noting the statuses answered."""
    async with httpx.AsyncClient(timeout=30) as client:
        for clock in itertools.count():
            reply = await client.put(f"{ingest.base}/v1/jobs/{job_id}/chunks/{clock}", content=b"line\n")
            statuses.add(reply.status_code)
            await asyncio.sleep(0.5)


async def http_traffic(ingest: Role, stream: Role, compact: Role, job_id: str) -> None:
    assert await http_writes(ingest, f"{job_id}-http", 5) == {201}
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(5):
            assert (await client.get(f"{stream.base}/v1/jobs/{job_id}-http/log")).status_code == 200
        # open without tokens; an unknown job is 404
        assert (await client.delete(f"{compact.base}/v1/jobs/{job_id}-none")).status_code == 404


async def poison(settings: BusSettings) -> None:
    connection = await aio_pika.connect(settings.bus)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(settings.chunks_exchange)
        await exchange.publish(aio_pika.Message(b"no headers at all"), routing_key="")


def record(
    firings: list[tuple[str, Firing]], durations: dict[str, float], capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        "| alert | fault | `for:` in the test | fault -> firing (s) | pending -> firing (s) |",
        "|---|---|---|---|---|",
    ]
    for fault, fired in firings:
        lines.append(
            f"| {fired.alert} | {fault} | {durations[fired.alert]:.0f} s | {fired.seconds} | "
            f"{fired.pending_to_firing_s} |"
        )
    table = "\n".join(lines)
    with capsys.disabled():  # in the test run's output, passed or not
        print(f"\nalerts under real faults (scrape and evaluation every {SCRAPE_S} s):\n{table}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(table + "\n")


async def test_dashboard_queries_return_series_and_alerts_fire_under_faults(
    prometheus: tuple[Prometheus, dict[str, float]],
    publisher: ChunkPublisher,
    bus_settings: BusSettings,
    cassandra_store: CassandraStore,
    tmp_path: Path,
    job_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, durations = prometheus
    require_port("127.0.0.1", 15692, "RabbitMQ's rabbitmq_prometheus plugin", "scripts/rabbitmq.sh up")
    proxy = TcpProxy(("127.0.0.1", 9042))
    direct = require_cassandra()
    through_proxy = direct.replace("127.0.0.1:9042", f"127.0.0.1:{proxy.port}")
    env = {**bus_settings.as_env(), "LOGSTORE_SEND_TIMEOUT_S": "5"}
    ingesters = [Role("ingest", tmp_path, ["--store", through_proxy], env) for _ in range(2)]
    stream = Role("stream", tmp_path, ["--store", direct], env)
    compact = Role("compact", tmp_path, ["--store", direct, "--grace-s", "0"], env)
    roles = [*ingesters, stream, compact]
    try:
        for role in roles:
            role.wait_ready()
            server.scrape(role_name(role), role.base)

        # a short real load: viewers on live jobs, AMQP chunks, HTTP reads and writes, compaction
        jobs = make_jobs(job_id, 3, 40, seed=7)
        viewers = [asyncio.create_task(watch(stream.base, job.job_id)) for job in jobs]
        await asyncio.sleep(1)
        await publish_load(publisher, jobs, final=True)
        watched = await asyncio.wait_for(asyncio.gather(*viewers), 120)
        assert all(w.ended for w in watched)
        await http_traffic(ingesters[0], stream, compact, job_id)
        assert await wait_complete(cassandra_store, jobs, within_s=120) == []

        missing = await asyncio.to_thread(every_query_has_series, server)
        assert missing == [], f"dashboard queries without series after the load: {missing}"

        # before any fault no alert is pending or firing (but those on other tests' queues)
        ours = [labels for labels in server.alert_labels() if labels.get("queue", job_id).startswith(job_id)]
        assert ours == []

        firings: list[tuple[str, Firing]] = []
        since = time.time()
        await poison(bus_settings)
        wanted = [("LogstoreDeadLetters", {"reason": "malformed_headers"})]
        (fired,) = await asyncio.to_thread(server.wait_firing, wanted, since, FIRE_WITHIN_S)
        firings.append(("a message without headers published", fired))

        since = time.time()
        for ingester in ingesters:
            ingester.kill()
        await publish_load(publisher, make_jobs(f"{job_id}-waiting", 2, 10), final=False)
        wanted = [
            ("LogstoreIngestionStopped", {"queue": bus_settings.ingest_queue}),
            ("LogstoreProcessDown", {"role": "ingest", "instance": ingesters[0].base.split("://", 1)[1]}),
        ]
        stopped, down = await asyncio.to_thread(server.wait_firing, wanted, since, FIRE_WITHIN_S)
        firings.append(("every ingester killed (SIGKILL), chunks published", stopped))
        firings.append(("every ingester killed (SIGKILL)", down))

        for ingester in ingesters:
            ingester.restart().wait_ready()
        since = time.time()
        proxy.cut()
        await publish_load(publisher, make_jobs(f"{job_id}-cut", 2, 10), final=False)
        # HTTP writes keep coming (a counter's rate needs it to move between scrapes)
        statuses: set[int] = set()
        writing = asyncio.create_task(keep_writing(ingesters[0], f"{job_id}-cut-http", statuses))
        instance = ingesters[0].base.split("://", 1)[1]
        wanted = [
            ("LogstoreStoreBreakerOpen", {"instance": instance}),
            ("LogstoreHttp5xx", {"role": "ingest", "instance": instance}),
        ]
        try:
            breaker, errors = await asyncio.to_thread(server.wait_firing, wanted, since, FIRE_WITHIN_S)
        finally:
            writing.cancel()
        assert statuses == {503}
        firings.append(("Cassandra cut off from the ingesters (TCP proxy closed)", breaker))
        firings.append(("Cassandra cut off, HTTP writes to an ingester answered 503", errors))

        record(firings, durations, capsys)
        for _, fired in firings:
            # Prometheus fires at the first evaluation `for:` after the condition held; one
            # scrape and one evaluation of slack, and our own polling on a busy machine
            assert fired.pending_to_firing_s <= durations[fired.alert] + 2 * SCRAPE_S + 15, fired
    finally:
        proxy.cut()
        for role in roles:
            role.stop()


def role_name(role: Role) -> str:
    return Path(role.log_path).name.split("-", 1)[0]


def every_query_has_series(server: Prometheus, within_s: float = 90) -> list[str]:
    """Poll until every dashboard query returns at least one series; return those that never did."""
    pending = dashboard_queries()
    deadline = time.monotonic() + within_s
    while pending and time.monotonic() < deadline:
        pending = [(title, promql) for title, promql in pending if not server.query(promql)]
        time.sleep(1)
    return [f"{title}: {promql}" for title, promql in pending]

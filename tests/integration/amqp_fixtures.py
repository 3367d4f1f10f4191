"""Isolated RabbitMQ names per test, so tests sharing one broker never see each other's
messages; and a factory of `logstore ingest` processes wired to them."""

from __future__ import annotations

import resource
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aio_pika
import pytest

from benchmarks.harness.processes import Role, metric_value
from logstore.bus import topology
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings
from logstore.store.cassandra.backend import CassandraStore
from tests.servers import require_cassandra, require_rabbitmq


@pytest.fixture
async def bus_settings(job_id: str) -> AsyncIterator[BusSettings]:
    url = require_rabbitmq()
    settings = BusSettings(bus=url).namespaced(job_id)
    yield settings
    connection = await aio_pika.connect(url)
    async with connection:
        await topology.delete_all(await connection.channel(), settings)


@pytest.fixture
async def publisher(bus_settings: BusSettings) -> AsyncIterator[ChunkPublisher]:
    publisher = await ChunkPublisher.connect(bus_settings)
    yield publisher
    await publisher.close()


@pytest.fixture
def ingesters(
    bus_settings: BusSettings, tmp_path: Path, cassandra_store: CassandraStore
) -> Iterator[Callable[..., list[Role]]]:
    """Start `logstore ingest` processes on the real Cassandra and RabbitMQ; stop them after."""
    started: list[Role] = []

    def start(count: int, *args: str) -> list[Role]:
        store = ["--store", require_cassandra()]
        roles = [Role("ingest", tmp_path, [*store, *args], bus_settings.as_env()) for _ in range(count)]
        started.extend(roles)
        return [role.wait_ready() for role in roles]

    yield start
    for role in started:
        role.stop()


@pytest.fixture
def compactors(
    bus_settings: BusSettings, tmp_path: Path, cassandra_store: CassandraStore
) -> Iterator[Callable[..., list[Role]]]:
    """Start `logstore compact` processes on the real Cassandra and RabbitMQ; stop them after."""
    started: list[Role] = []

    def start(count: int, *args: str, env: dict[str, str] | None = None) -> list[Role]:
        store = ["--store", require_cassandra()]
        environment = {**bus_settings.as_env(), **(env or {})}
        roles = [Role("compact", tmp_path, [*store, *args], environment) for _ in range(count)]
        started.extend(roles)
        return [role.wait_ready() for role in roles]

    yield start
    for role in started:
        role.stop()


@pytest.fixture
def streamer(bus_settings: BusSettings, tmp_path: Path, cassandra_store: CassandraStore) -> Iterator[Role]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    # A viewer that takes nothing for 10 s is dropped (4408); no keepalive pings, so that a stalled
    # test viewer is dropped by that rule alone, however long the test took to get there.
    env = {**bus_settings.as_env(), "LOGSTORE_SEND_TIMEOUT_S": "10", "LOGSTORE_WS_PING_INTERVAL_S": "0"}
    role = Role("stream", tmp_path, ["--store", require_cassandra()], env).wait_ready()
    yield role
    role.stop()


def created(roles: list[Role]) -> float:
    """Chunks newly stored by these ingesters, from their own metrics."""
    return sum(metric_value(r.metrics(), 'logstore_ingest_chunks_total{result="created"}') for r in roles)


async def drain_queue(settings: BusSettings, queue_name: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Take every message now in `queue_name`."""
    taken = []
    connection = await aio_pika.connect(settings.bus)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name, ensure=False)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            taken.append(message)
    return taken


async def queue_depth(settings: BusSettings, queue_name: str) -> int:
    connection = await aio_pika.connect(settings.bus)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue_name, passive=True)
        return declared.declaration_result.message_count or 0


async def queue_consumers(settings: BusSettings, queue_name: str) -> int:
    """Consumers of `queue_name` now; 0 while no process has declared it yet."""
    connection = await aio_pika.connect(settings.bus)
    async with connection:
        channel = await connection.channel()
        try:
            declared = await channel.declare_queue(queue_name, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity:
            return 0
        return declared.declaration_result.consumer_count or 0

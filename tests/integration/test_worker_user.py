"""The broker as a trust boundary, on the real RabbitMQ as scripts/rabbitmq.sh sets it up: build
workers connect as `logstore-worker`, which may publish chunks (and they are stored) but not
announce bytes to viewers on `logstore.live`, declare or consume queues, or declare exchanges;
and no message over the broker's size cap is accepted from anyone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aio_pika
import aiormq
import pytest
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from benchmarks.harness.processes import Role
from logstore.bus.messages import chunk_headers
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings
from logstore.store.cassandra.backend import CassandraStore
from tests.integration.amqp_fixtures import queue_consumers
from tests.polling import eventually
from tests.servers import AMQP_WORKER_URL, MAX_MESSAGE_BYTES

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(120)]
REFUSED = (aiormq.exceptions.ChannelAccessRefused,)


@pytest.fixture
async def worker() -> AsyncIterator[AbstractRobustConnection]:
    try:
        connection = await aio_pika.connect_robust(AMQP_WORKER_URL)
    except aio_pika.exceptions.ProbableAuthenticationError:
        pytest.fail("no broker user logstore-worker: run scripts/rabbitmq.sh up")
    yield connection
    await connection.close()


async def consuming(settings: BusSettings) -> None:
    async def bound() -> bool:
        return await queue_consumers(settings, settings.ingest_queue) > 0

    await eventually(bound, poll_s=0.1, what="the ingester consuming")


def as_worker(settings: BusSettings) -> BusSettings:
    return settings.model_copy(update={"bus": AMQP_WORKER_URL})


async def test_a_worker_publishes_chunks_that_are_stored(
    ingesters: Callable[..., list[Role]],
    bus_settings: BusSettings,
    cassandra_store: CassandraStore,
    job_id: str,
) -> None:
    ingesters(1)  # declares the topology, as the ingesters of a deployment do
    await consuming(bus_settings)
    publisher = await ChunkPublisher.connect(as_worker(bus_settings))  # looks the exchange up only
    try:
        await publisher.publish(job_id, 0, b"built by a worker\n")
        await publisher.publish(job_id, 1, b"done\n", final=True)
    finally:
        await publisher.close()

    async def stored() -> list[tuple[int, bytes]]:
        return [chunk async for chunk in cassandra_store.read_chunks(job_id)]

    async def both() -> bool:
        return len(await stored()) == 2

    await eventually(both, poll_s=0.1, what="the worker's chunks stored")
    assert await stored() == [(0, b"built by a worker\n"), (1, b"done\n")]


async def refused(channel: AbstractChannel, attempt: Callable[[AbstractChannel], object]) -> bool:
    try:
        await attempt(channel)  # type: ignore[misc]
    except REFUSED:
        return True
    return False


async def test_a_worker_cannot_announce_declare_or_consume(
    ingesters: Callable[..., list[Role]],
    bus_settings: BusSettings,
    worker: AbstractRobustConnection,
    job_id: str,
) -> None:
    ingesters(1)
    live = bus_settings.live_exchange
    forged = aio_pika.Message(b"unstored bytes\n", headers=chunk_headers(job_id, 0, False, None, False))

    async def announce(channel: AbstractChannel) -> None:
        exchange = await channel.get_exchange(live, ensure=True)  # a passive lookup is allowed
        await exchange.publish(forged, routing_key=job_id)

    async def declare_queue(channel: AbstractChannel) -> None:
        await channel.declare_queue(f"{job_id}.stolen", durable=False, auto_delete=True)

    async def ignore(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        pass

    async def consume(channel: AbstractChannel) -> None:
        queue = await channel.get_queue(bus_settings.ingest_queue, ensure=True)
        await queue.consume(ignore)

    async def get(channel: AbstractChannel) -> None:
        queue = await channel.get_queue(bus_settings.ingest_queue, ensure=True)
        await queue.get(no_ack=True, fail=False)

    async def declare_exchange(channel: AbstractChannel) -> None:
        await channel.declare_exchange(f"{job_id}.logstore.chunks", aio_pika.ExchangeType.FANOUT)

    async def bind_live(channel: AbstractChannel) -> None:
        queue = await channel.get_queue(bus_settings.ingest_queue, ensure=True)
        await queue.bind(live, routing_key=job_id)

    attempts = [announce, declare_queue, consume, get, declare_exchange, bind_live]
    results = {}
    for attempt in attempts:
        channel = await worker.channel(publisher_confirms=True)
        results[attempt.__name__] = await refused(channel, attempt)
    assert results == {attempt.__name__: True for attempt in attempts}


async def test_the_broker_refuses_a_message_over_its_size_cap(
    ingesters: Callable[..., list[Role]],
    bus_settings: BusSettings,
    worker: AbstractRobustConnection,
    cassandra_store: CassandraStore,
    job_id: str,
) -> None:
    ingesters(1)
    await consuming(bus_settings)
    channel = await worker.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(bus_settings.chunks_exchange, ensure=True)
    headers = chunk_headers(job_id, 0, False, None, False)
    huge = aio_pika.Message(b"x" * (MAX_MESSAGE_BYTES + 1), headers=headers)
    with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed, match="larger than configured max"):
        await exchange.publish(huge, routing_key="")
    # a chunk at the default 1 MiB limit still goes through
    publisher = await ChunkPublisher.connect(as_worker(bus_settings))
    try:
        await publisher.publish(job_id, 0, b"y" * (1024 * 1024), final=True)
    finally:
        await publisher.close()

    async def stored() -> bool:
        return [clock async for clock, _ in cassandra_store.read_chunks(job_id)] == [0]

    await eventually(stored, poll_s=0.1, what="the 1 MiB chunk stored")

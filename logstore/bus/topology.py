"""The RabbitMQ topology, declared idempotently by every process that uses it.

workers --publish--> [logstore.chunks] (fanout) --> logstore.ingest (quorum) --> ingesters
ingesters --refused--> logstore.ingest.dead (quorum; reason in the `x-logstore-reason` header)
ingesters --stored--> [logstore.live] (direct, key = job id) --> each streamer's own queue
ingesters --final--> logstore.compact (quorum) --> compactors
"""

from __future__ import annotations

from typing import Any

from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from logstore.config import BusSettings

QUORUM: dict[str, Any] = {"x-queue-type": "quorum"}


async def declare_ingest(
    channel: AbstractChannel, names: BusSettings
) -> tuple[AbstractExchange, AbstractQueue]:
    exchange = await channel.declare_exchange(names.chunks_exchange, ExchangeType.FANOUT, durable=True)
    queue = await channel.declare_queue(names.ingest_queue, durable=True, arguments=QUORUM)
    await queue.bind(exchange)
    await channel.declare_queue(names.dead_letter_queue, durable=True, arguments=QUORUM)
    return exchange, queue


async def declare_live(channel: AbstractChannel, names: BusSettings) -> AbstractExchange:
    return await channel.declare_exchange(names.live_exchange, ExchangeType.DIRECT, durable=True)


async def declare_compact(channel: AbstractChannel, names: BusSettings) -> AbstractQueue:
    return await channel.declare_queue(names.compact_queue, durable=True, arguments=QUORUM)


async def delete_all(channel: AbstractChannel, names: BusSettings) -> None:
    """Remove every queue and exchange named by `names` (isolated test and benchmark runs)."""
    for queue in (names.ingest_queue, names.dead_letter_queue, names.compact_queue):
        await channel.queue_delete(queue)
    for exchange in (names.chunks_exchange, names.live_exchange):
        await channel.exchange_delete(exchange)

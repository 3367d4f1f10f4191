"""The RabbitMQ topology, declared idempotently by every process that uses it.

workers --publish--> [logstore.chunks] (fanout) --> logstore.ingest (quorum) --> ingesters
ingesters --refused--> logstore.ingest.dead (quorum; reason in the `x-logstore-reason` header)
ingesters --stored--> [logstore.live] (direct, key = job id) --> each streamer's own queue
ingesters --final--> logstore.compact (quorum) --> compactors
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

import aiormq
from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue

from logstore.config import BusSettings

log = logging.getLogger("logstore.bus")

QUORUM: dict[str, Any] = {"x-queue-type": "quorum"}


def ingest_queue_arguments(names: BusSettings) -> dict[str, Any]:
    """The ingest queue: quorum, with the broker's delivery limit as the last line against a
    message that kills its consumer before the ingester can refuse it (a process crash, a closed
    connection): past `delivery_limit` deliveries the broker itself moves it to the dead-letter
    queue (`x-first-death-reason: delivery_limit`). The ingester refuses a message whose handling
    keeps failing well before that (`handler_attempts`, reason `handler_error`)."""
    return {
        **QUORUM,
        "x-delivery-limit": names.delivery_limit,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": names.dead_letter_queue,
    }


async def declare_ingest(
    connection: AbstractConnection, channel: AbstractChannel, names: BusSettings
) -> tuple[AbstractExchange, AbstractQueue]:
    exchange = await channel.declare_exchange(names.chunks_exchange, ExchangeType.FANOUT, durable=True)
    await channel.declare_queue(names.dead_letter_queue, durable=True, arguments=QUORUM)
    if await _declared_with_limit(connection, names):
        queue = await channel.declare_queue(
            names.ingest_queue, durable=True, arguments=ingest_queue_arguments(names)
        )
    else:
        queue = await channel.declare_queue(names.ingest_queue, passive=True)
    await queue.bind(exchange)
    return exchange, queue


async def _declared_with_limit(connection: AbstractConnection, names: BusSettings) -> bool:
    """Declare the ingest queue with its arguments on a channel of its own, since a queue that
    exists with other arguments (one declared by an older version) makes the broker close the
    channel. Then the queue is used as it is, and the operator is told how to add the limit."""
    probe = await connection.channel()
    try:
        await probe.declare_queue(names.ingest_queue, durable=True, arguments=ingest_queue_arguments(names))
        return True
    except aiormq.exceptions.ChannelPreconditionFailed:
        log.warning(
            "queue %s exists without the delivery limit: add it with a policy, e.g. rabbitmqctl "
            'set_policy logstore-ingest \'^%s$\' \'{"delivery-limit": %d, "dead-letter-exchange": "", '
            '"dead-letter-routing-key": "%s"}\' --apply-to quorum_queues',
            names.ingest_queue,
            re.escape(names.ingest_queue),
            names.delivery_limit,
            names.dead_letter_queue,
        )
        return False
    finally:
        with contextlib.suppress(Exception):
            await probe.close()


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

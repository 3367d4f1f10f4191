"""The publisher CI workers use: persistent chunk messages with publisher confirms, so
`publish` returning means the broker has the chunk (in a quorum queue: on a majority of nodes).
Publish many chunks concurrently to keep the channel busy; each awaits its own confirm."""

from __future__ import annotations

import asyncio

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustConnection

from logstore.bus import topology
from logstore.bus.amqp import PUBLISH_TIMEOUT_S, connect, within
from logstore.bus.messages import chunk_headers
from logstore.config import BusSettings
from logstore.errors import BusUnavailable


class ChunkPublisher:
    def __init__(self, connection: AbstractRobustConnection, exchange: AbstractExchange) -> None:
        self._connection = connection
        self._exchange = exchange

    @classmethod
    async def connect(cls, settings: BusSettings) -> ChunkPublisher:
        connection = await connect(settings.bus)
        channel = await connection.channel(publisher_confirms=True)
        exchange, _ = await topology.declare_ingest(channel, settings)
        return cls(connection, exchange)

    async def publish(
        self,
        job_id: str,
        clock: int,
        data: bytes,
        final: bool = False,
        sent_at: float | None = None,
        private: bool = False,
    ) -> None:
        """Return once the broker confirmed the chunk; raise BusUnavailable otherwise. `private`
        asks the ingester to make the job private before storing the chunk."""
        message = aio_pika.Message(
            data,
            headers=chunk_headers(job_id, clock, final, sent_at, private),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            sending = self._exchange.publish(
                message, routing_key="", mandatory=True, timeout=PUBLISH_TIMEOUT_S
            )
            await within(sending, PUBLISH_TIMEOUT_S + 1, f"chunk {job_id}/{clock}")
        except (OSError, TimeoutError, aio_pika.exceptions.AMQPError, RuntimeError) as exc:
            raise BusUnavailable(f"chunk {job_id}/{clock} not confirmed: {exc}") from exc

    async def close(self) -> None:
        await asyncio.shield(self._connection.close())

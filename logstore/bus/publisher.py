"""The publisher CI workers use: persistent chunk messages with publisher confirms, so
`publish` returning means the broker has the chunk (in a quorum queue: on a majority of nodes).
Publish many chunks concurrently to keep the channel busy; each awaits its own confirm.

A worker needs no more of the broker than writing to the chunks exchange (docs/operations.md,
"The broker"): a publisher whose user may not declare the topology (the ingesters declare it when
they start) only looks the exchange up, passively, which needs no permission. A message the
exchange routes to no queue (the ingest queue not bound yet, or deleted) comes back (`mandatory`)
and is an error, never a silent loss."""

from __future__ import annotations

import asyncio
import contextlib

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from logstore.bus import topology
from logstore.bus.amqp import PUBLISH_TIMEOUT_S, connect, within
from logstore.bus.messages import chunk_headers
from logstore.config import BusSettings
from logstore.errors import BusUnavailable


class ChunkPublisher:
    def __init__(
        self,
        connection: AbstractRobustConnection,
        channel: AbstractChannel,
        exchange: AbstractExchange,
        settings: BusSettings,
    ) -> None:
        self._connection = connection
        self._channel = channel
        self._exchange = exchange
        self._settings = settings
        self._reopening = asyncio.Lock()

    @classmethod
    async def connect(cls, settings: BusSettings) -> ChunkPublisher:
        connection = await connect(settings.bus)
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        try:
            exchange, _ = await topology.declare_ingest(connection, channel, settings)
        except aiormq.exceptions.ChannelAccessRefused:  # a worker's user: publish, nothing more
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await channel.get_exchange(settings.chunks_exchange, ensure=True)
        return cls(connection, channel, exchange, settings)

    async def publish(
        self,
        job_id: str,
        clock: int,
        data: bytes,
        final: bool = False,
        sent_at: float | None = None,
        private: bool = False,
    ) -> None:
        """Return once the broker confirmed the chunk; raise BusUnavailable otherwise (publishing
        it again is safe: a chunk sent twice is stored once). `private` asks the ingester to make
        the job private before storing the chunk."""
        message = aio_pika.Message(
            data,
            headers=chunk_headers(job_id, clock, final, sent_at, private),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        exchange = self._exchange
        try:
            sending = exchange.publish(message, routing_key="", mandatory=True, timeout=PUBLISH_TIMEOUT_S)
            await within(sending, PUBLISH_TIMEOUT_S + 1, f"chunk {job_id}/{clock}")
        except (OSError, TimeoutError, aio_pika.exceptions.AMQPError, RuntimeError) as exc:
            await self._reopen(exchange)
            raise BusUnavailable(f"chunk {job_id}/{clock} not confirmed: {exc}") from exc

    async def _reopen(self, failed: AbstractExchange) -> None:
        """A publish whose confirm timed out leaves its channel closed (the client cannot tell what
        the broker got); the next publishes go through a new channel, opened once for all."""
        async with self._reopening:
            if self._exchange is not failed or not self._channel.is_closed:
                return
            with contextlib.suppress(Exception):  # still down: the next failure tries again
                channel = await within(
                    self._connection.channel(publisher_confirms=True, on_return_raises=True),
                    PUBLISH_TIMEOUT_S,
                    "reopen channel",
                )
                self._exchange = await channel.get_exchange(self._settings.chunks_exchange)
                self._channel = channel

    async def close(self) -> None:
        await asyncio.shield(self._connection.close())

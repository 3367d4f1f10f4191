"""Acknowledge a channel's deliveries together: one `basic.ack` with `multiple` for each run of
settled messages at the head of the channel's delivery order, instead of one frame per message
(per-message acks cost an ingester about as much CPU as everything else it does with a message).

AMQP delivery tags count up per channel, and `ack(tag, multiple=True)` settles every unsettled
delivery up to `tag`. So a multiple ack may only cover tags that are all either to be acked or
already settled on their own: a message still being stored (by another batch in flight) must
never be swept up with it, or it would be acked before it is durable. The window keeps the
channel's delivered tags in order and, each time some are settled, acks the longest settled
prefix with one frame. A message handed back on its own (a nack) is sent at once, under the same
lock, before its tag can join a prefix, so the broker never sees a multiple ack that covers it.

A message parked at the head (one whose handling failed, handed back after a backoff) would hold
every later ack back for seconds, and the broker stops delivering once `prefetch` messages wait;
while the head is parked, stored messages behind it are acked one by one.

The window reports the bytes of each delivery once, when it is settled (`released`): what the
ingester holds is what it has been delivered and not yet settled, its byte budget.

A window belongs to one channel. After a reconnect, tags start again at 1 on the new channel and
a new window counts them; the old window's frames fail on its closed channel and are only logged
(the broker redelivers those messages, and a redelivered chunk is a harmless duplicate).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiormq.abc

from logstore.bus.amqp import settle
from logstore.bus.messages import ChunkMessage
from logstore.errors import InvalidInput


@dataclass(slots=True, eq=False)
class Delivery:
    """One message taken from the ingest queue, and the window that settles it."""

    body: bytes
    headers: dict[str, Any] | None
    tag: int
    redelivered: bool
    window: AckWindow
    decoded: (
        ChunkMessage | InvalidInput
    )  # its headers, decoded once on arrival, or why they break the contract
    settled: bool = field(default=False)  # acked (or queued for the next ack) or handed back
    received_at: float = field(default_factory=time.monotonic)  # RabbitMQ's consumer_timeout counts from here

    @property
    def sent_at(self) -> float | None:
        """The sender's timestamp, when its headers are well-formed."""
        return None if isinstance(self.decoded, InvalidInput) else self.decoded.sent_at


class AckWindow:
    def __init__(
        self, channel: aiormq.abc.AbstractChannel, released: Callable[[int], None] | None = None
    ) -> None:
        self.channel = channel
        self._released = released  # called with a delivery's body size when it is settled
        self._delivered: deque[int] = deque()  # tags not yet covered by an ack, in order
        self._settled: dict[int, bool] = {}  # tag -> True: ack with the prefix; False: settled alone
        self._parked: set[int] = set()
        self._lock = asyncio.Lock()  # frames leave in the order the window decided them

    def delivered(
        self, message: aiormq.abc.DeliveredMessage, decoded: ChunkMessage | InvalidInput
    ) -> Delivery:
        delivery = message.delivery
        assert isinstance(delivery, aiormq.spec.Basic.Deliver)
        tag = delivery.delivery_tag
        assert tag is not None  # a Basic.Deliver frame always carries one
        self._delivered.append(tag)
        return Delivery(
            message.body,
            message.header.properties.headers,
            tag,
            bool(delivery.redelivered),
            self,
            decoded,
        )

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge these (durably handled) messages, with the fewest frames the order allows."""
        async with self._lock:
            for delivery in deliveries:
                self._release(delivery)
                delivery.settled = True
                self._parked.discard(delivery.tag)
                self._settled[delivery.tag] = True
            await self._flush()

    async def hand_back(self, delivery: Delivery) -> None:
        """Nack with requeue: the broker delivers the message again (to any consumer)."""
        async with self._lock:
            self._release(delivery)
            delivery.settled = True
            self._parked.discard(delivery.tag)
            await self._send(self.channel.basic_nack(delivery.tag, requeue=True, wait=False), "nack")
            self._settled[delivery.tag] = False
            await self._flush()

    def _release(self, delivery: Delivery) -> None:
        if not delivery.settled and self._released is not None:
            self._released(len(delivery.body))

    def park(self, delivery: Delivery) -> None:
        """This message will be handed back later: do not hold other acks back behind it."""
        self._parked.add(delivery.tag)

    async def _flush(self) -> None:
        highest = None
        while self._delivered and self._delivered[0] in self._settled:
            tag = self._delivered.popleft()
            if self._settled.pop(tag):
                highest = tag
        if highest is not None:
            await self._send(self.channel.basic_ack(highest, multiple=True, wait=False), "ack")
        if self._delivered and self._delivered[0] in self._parked:
            for tag, to_ack in list(self._settled.items()):
                if to_ack:
                    await self._send(self.channel.basic_ack(tag, wait=False), "ack")
                    self._settled[tag] = False

    async def _send(self, frame: Any, what: str) -> None:
        await settle(frame, what)

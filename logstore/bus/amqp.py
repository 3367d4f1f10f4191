"""The RabbitMQ bus (aio-pika): announcements, compaction requests and live subscriptions.

One robust connection per process (it reconnects by itself after a broker restart, to another
node of the cluster when --bus lists several). Live
subscriptions share one exclusive, server-named queue per process, bound once per job; each
announcement is handed to that job's local subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, TypeVar

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)

from logstore.bus import frame_reader, tolerant_frames, topology
from logstore.bus.announcer import Announcer
from logstore.bus.failover import connect_failover, safe_url
from logstore.bus.interface import Announcement, Bus, Subscription, WorkItem
from logstore.config import BusSettings, broker_urls
from logstore.errors import BusUnavailable

log = logging.getLogger("logstore.bus")
T = TypeVar("T")

tolerant_frames.install()  # no delivered message may break a connection (see that module)
frame_reader.install()  # two reads per frame, not three (see that module)

PUBLISH_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0


async def within(awaitable: Awaitable[T], seconds: float, what: str) -> T:
    """Await for at most `seconds`, even when the awaited call ignores cancellation.

    A robust channel caught mid-reconnect can hold a publish past its own `timeout` and swallow
    the cancel that `asyncio.wait_for` sends, which then waits with it, for ever. Here the caller
    gets TimeoutError on time; the straggler is cancelled and left to finish in the background."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # never "not retrieved"
        raise TimeoutError(f"{what}: no answer within {seconds} s")
    if task.cancelled():
        # Not us: the client library cancels a publish whose channel closed under it (aio-pika
        # 10 on a lost connection). To the caller that is a failed call, never its own cancel.
        raise ConnectionError(f"{what}: cancelled by the AMQP client (channel or connection lost)")
    return task.result()


async def settle(action: Awaitable[None], what: str) -> bool:
    """Await an ack or nack; False (logged) if it failed. A message settled on a channel that died
    since its delivery is redelivered by the broker anyway, and every consumer here takes a
    redelivery as a harmless duplicate. aio-pika cancels such a call when its channel closes:
    that is a failure of the call, not a cancel of the caller, which is still raised."""
    try:
        await action
        return True
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        log.info("%s not delivered (channel closed; the broker redelivers)", what)
    except Exception as exc:
        log.info("%s not delivered (channel gone; the broker redelivers): %s", what, exc)
    return False


async def connect(bus: str) -> AbstractRobustConnection:
    """A robust connection to the broker of `bus`: one amqp(s) URL, or several of one cluster
    (comma-separated), with failover between them (see logstore/bus/failover.py)."""
    urls = broker_urls(bus)
    try:
        return await connect_failover(urls, CONNECT_TIMEOUT_S)
    except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as exc:
        where = ", ".join(safe_url(url) for url in urls)
        raise BusUnavailable(f"rabbitmq at {where} cannot be reached: {exc}") from exc


class AmqpSubscription(Subscription):
    def __init__(self, bus: AmqpBus, job_id: str) -> None:
        super().__init__(job_id)
        self._bus = bus

    async def close(self) -> None:
        await self._bus.unsubscribe(self)


class AmqpWorkItem(WorkItem):
    def __init__(self, message: AbstractIncomingMessage) -> None:
        self._message = message
        self.job_id = message.body.decode("utf-8", "replace")

    async def done(self) -> None:
        await settle(self._message.ack(), "compaction request ack")  # compaction is idempotent

    async def retry(self) -> None:
        await settle(self._message.nack(requeue=True), "compaction request nack")


class AmqpBus(Bus):
    def __init__(self, settings: BusSettings, connection: AbstractRobustConnection) -> None:
        self.settings = settings
        self.connection = connection
        self._channel: AbstractRobustChannel | None = None
        self._live: AbstractExchange | None = None
        self._live_queue: AbstractQueue | None = None
        self._subscribers: defaultdict[str, set[AmqpSubscription]] = defaultdict(set)
        self._lock = asyncio.Lock()
        self._announcing: AbstractRobustChannel | None = None
        self._announcer = Announcer(self._publish_announcements)

    @classmethod
    async def connect(cls, settings: BusSettings) -> AmqpBus:
        bus = cls(settings, await connect(settings.bus))
        channel = await bus.channel()
        # Announcements go out on their own channel without publisher confirms: they are
        # best-effort (a streamer fills any gap from the store), and awaiting a confirm for each
        # stored chunk, one after the other, was the ingesters' largest cost after Cassandra.
        announcing = await bus.connection.channel(publisher_confirms=False)
        assert isinstance(announcing, AbstractRobustChannel)
        bus._announcing = announcing
        bus._live = await topology.declare_live(announcing, settings)
        await topology.declare_compact(channel, settings)
        return bus

    async def channel(self) -> AbstractRobustChannel:
        if self._channel is None or self._channel.is_closed:
            channel = await self.connection.channel(publisher_confirms=True)
            assert isinstance(channel, AbstractRobustChannel)
            self._channel = channel
        return self._channel

    async def announce(self, announcement: Announcement) -> None:
        self._announcer.offer(announcement)  # published in the background (logstore/bus/announcer.py)

    async def _publish_announcements(self, announcements: Sequence[Announcement]) -> None:
        """Publish in order on the announcing channel, straight through aiormq: no confirms, no
        aio-pika Message, no task per message (they cost more than the frames)."""
        assert self._announcing is not None
        assert self._live is not None
        channel = await self._announcing.get_underlay_channel()
        for announcement in announcements:
            properties = aiormq.spec.Basic.Properties(
                headers={
                    "job_id": announcement.job_id,
                    "clock": announcement.clock,
                    "final": announcement.final,
                    # microseconds as an int: pamqp sends a Python float as a 32-bit float
                    "stored_at_us": round(announcement.stored_at * 1_000_000),
                },
                delivery_mode=1,  # not persistent
                message_id="live",  # set, so aiormq draws no random id per message (nobody reads it)
            )
            # not mandatory: a job nobody watches has no queue bound, and the broker's returns cost
            await channel.basic_publish(
                announcement.data,
                exchange=self._live.name,
                routing_key=announcement.job_id,
                properties=properties,
            )

    async def request_compaction(self, job_id: str) -> None:
        await self.publish_durable(self.settings.compact_queue, job_id.encode(), {"job_id": job_id})

    async def publish_durable(self, queue: str, body: bytes, headers: dict[str, Any]) -> None:
        """Publish a persistent message to `queue` and wait for the broker's confirm."""
        try:
            channel = await self.channel()
            message = aio_pika.Message(body, headers=headers, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            sending = channel.default_exchange.publish(message, routing_key=queue, timeout=PUBLISH_TIMEOUT_S)
            await within(sending, PUBLISH_TIMEOUT_S + 1, f"publish to {queue}")
        except (TimeoutError, OSError, aio_pika.exceptions.AMQPError, RuntimeError) as exc:
            raise BusUnavailable(f"rabbitmq did not confirm a message to {queue}: {exc}") from exc

    async def subscribe(self, job_id: str) -> Subscription:
        subscription = AmqpSubscription(self, job_id)
        async with self._lock:
            queue = await self._live_queue_declared()
            if not self._subscribers[job_id]:
                assert self._live is not None
                await queue.bind(self._live, routing_key=job_id)
            self._subscribers[job_id].add(subscription)
        return subscription

    async def unsubscribe(self, subscription: AmqpSubscription) -> None:
        async with self._lock:
            subscribers = self._subscribers.get(subscription.job_id)
            if subscribers is None:
                return
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.job_id]
                if self._live_queue is not None and self._live is not None:
                    try:
                        await self._live_queue.unbind(self._live, routing_key=subscription.job_id)
                    except Exception as exc:
                        log.warning("unbind failed: %s", exc, extra={"job_id": subscription.job_id})

    async def _live_queue_declared(self) -> AbstractQueue:
        if self._live_queue is None:
            channel = await self.channel()
            self._live_queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            await self._live_queue.consume(self._deliver, no_ack=True)
        return self._live_queue

    async def _deliver(self, message: AbstractIncomingMessage) -> None:
        headers = message.headers or {}
        job_id = message.routing_key or ""
        clock = headers.get("clock")
        if not isinstance(clock, int):
            return
        stored_at_us = headers.get("stored_at_us")
        announcement = Announcement(
            job_id,
            clock,
            message.body,
            headers.get("final") is True,
            stored_at_us / 1_000_000 if isinstance(stored_at_us, int) else 0.0,
        )
        for subscription in list(self._subscribers.get(job_id, ())):
            subscription.offer(announcement)

    async def compaction_requests(self, prefetch: int) -> AsyncIterator[WorkItem]:
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await topology.declare_compact(channel, self.settings)
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        tag = await queue.consume(inbox.put)
        try:
            while True:
                yield AmqpWorkItem(await inbox.get())
        finally:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
                while not inbox.empty():
                    await inbox.get_nowait().nack(requeue=True)
                await channel.close()

    async def close(self) -> None:
        await self._announcer.close()
        await self.connection.close()

"""`logstore ingest`: consume chunks from the durable quorum queue, as one of N competing
ingesters, and acknowledge each message only after its chunk is durably stored.

Per batch: decode and validate each message (refused ones go to the dead-letter queue), store the
rest in one `ingest_batch` call with retries (backoff and jitter), then ack the stored ones and
dead-letter the refused ones. Up to BATCHES_IN_FLIGHT batches are handled at once, so the next
batch is taken while one is being stored. Messages are consumed straight from the AMQP client's
channel (aiormq; aio-pika's per-message objects and tasks cost more than the rest of the work),
and acked together (ingest/ack_window.py: one `multiple` ack per run of settled messages).

A store outage never spends a message's delivery limit. When the store cannot take a batch, the
ingester stops consuming (basic.cancel: the channel's prefetch already bounds what it holds) and
keeps the batch's messages, and every other one in hand, unacknowledged: held, not requeued. It
asks the store whether it takes writes again (`store.ping`, which on Cassandra writes a row at the
write consistency, as /readyz does) with backoff and jitter (`store_probe_s` doubling up to
`store_probe_max_s`), then consumes again and stores the same batch. A message held `hold_s` since
its delivery (25 min by default, below RabbitMQ's `consumer_timeout` of 30, past which the broker
would close the channel and count a delivery of each) is put back as a fresh copy: published to
the ingest queue with a confirm, then the original acked, so the copy starts uncounted (a nack
counts a delivery on RabbitMQ before 4.3, see docs/reliability.md). Only a batch the store still
refuses SUSPECT_ROUNDS times right after answering a probe is handed back with a nack (counted):
that is what may never succeed, and the delivery limit is there for it.

Bytes are bounded as well as messages: the channel's prefetch counts messages, so an ingester
also keeps a byte budget (`max_bytes_in_flight`) of what it has been delivered and not yet
settled. Past it, it stops consuming (basic.cancel, as for a store outage, without holding
anything back) and consumes again once acknowledgements bring it under. Messages the broker had
sent before the cancel still arrive, each under the broker's `max_message_size`.

No message can stop an ingester:
- the AMQP client decodes whatever the broker delivers (logstore/bus/tolerant_frames.py), and a
  dead letter carries the original headers as JSON text, so it never depends on re-encoding them;
- a batch whose handling raises for a reason no rule foresaw is taken apart and each message
  handled alone; a message that still fails is handed back, and once the broker's delivery count
  (`x-delivery-count`, kept by the quorum queue across processes and crashes) reaches
  `handler_attempts` it is dead-lettered `handler_error`. The queue's own `x-delivery-limit`
  (logstore/bus/topology.py) catches what kills a consumer before this code sees it;
- `logstore ingest` runs the ingester under a Supervisor (logstore/supervisor.py), which starts it
  again with backoff if it fails anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import aiormq.abc
from aio_pika.abc import AbstractQueue, AbstractRobustChannel

from ingest import metrics
from ingest.ack_window import AckWindow, Delivery
from ingest.batcher import Batcher
from ingest.dead_letter import dead_letter
from ingest.service import IngestService, Outcome
from ingest.unstored import Unstored
from logstore.bus import topology
from logstore.bus.amqp import AmqpBus
from logstore.bus.messages import ChunkMessage, decode_headers
from logstore.chunk import Chunk
from logstore.errors import BusUnavailable, HandlerFailed, InvalidInput, LogstoreError, StoreUnavailable
from logstore.resilience import store_retrying

log = logging.getLogger("logstore.ingest")

SUSPECT_ROUNDS = 3  # a batch refused this often right after the store answered a probe goes back
HANDBACK_DELAY_S = 0.5  # first wait before a failed message goes back (doubles per delivery)
BATCHES_IN_FLIGHT = 4  # batches stored at once (the channel's prefetch bounds their messages)
DELIVERY_COUNT = "x-delivery-count"  # set by quorum queues: earlier deliveries of this message


class AmqpIngester:
    def __init__(self, service: IngestService, bus: AmqpBus) -> None:
        self.service = service
        self.bus = bus
        settings = bus.settings
        self._batcher: Batcher[Delivery] = Batcher(settings.batch_size, settings.batch_linger_ms / 1000)
        self._channel: AbstractRobustChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._window: AckWindow | None = None  # the channel being consumed, and its acks
        self._stopping = asyncio.Event()
        self._handbacks: set[asyncio.Task[None]] = set()
        self._store_back = asyncio.Event()  # set while the store takes writes (as far as we know)
        self._store_back.set()
        self._store_epoch = 0  # times the store came back, so a batch knows its failure is older
        self._recovery: asyncio.Task[None] | None = None  # paused, asking the store until it is back
        self._unstored = Unstored()
        metrics.OLDEST_UNSTORED.set_function(self._unstored.oldest_age)
        self._held_bytes = 0  # delivered, not yet settled (acked, dead-lettered, handed back)
        self._over_budget = False  # consumption stopped for the byte budget
        self._flow = asyncio.Lock()  # one consume or cancel at a time
        self._flow_tasks: set[asyncio.Task[None]] = set()
        metrics.HELD_BYTES.set_function(lambda: self._held_bytes)

    async def run(self) -> None:
        """Consume until `stop()`; then finish the batches in hand and give the rest back."""
        channel = await self.bus.connection.channel()
        assert isinstance(channel, AbstractRobustChannel)
        self._channel = channel
        await channel.set_qos(prefetch_count=self.bus.settings.prefetch)
        _, self._queue = await topology.declare_ingest(self.bus.connection, channel, self.bus.settings)
        channel.reopen_callbacks.add(self._on_reopen)  # after a reconnect: consume again
        await self._resume()
        stopping = asyncio.create_task(self._stopping.wait())
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping.is_set():
                if len(in_flight) >= BATCHES_IN_FLIGHT:
                    await asyncio.wait({*in_flight, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    continue
                next_batch = asyncio.create_task(self._batcher.next_batch())
                done, _ = await asyncio.wait({next_batch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if next_batch not in done:
                    next_batch.cancel()
                    break
                # While this batch is stored, the next one is taken: the store's and the broker's
                # round trips overlap (prefetch bounds the messages held, BATCHES_IN_FLIGHT the
                # batches). Each message is acked only by the batch that stored it.
                handling = asyncio.create_task(self._handle_batch_of(next_batch.result()))
                in_flight.add(handling)
                self._batcher.storing(len(in_flight))
                handling.add_done_callback(lambda task: self._stored(in_flight, task))
        finally:
            stopping.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            if self._recovery is not None:
                self._recovery.cancel()
                await asyncio.gather(self._recovery, return_exceptions=True)
            await self._pause()
            for task in [*self._handbacks, *self._flow_tasks]:
                task.cancel()
            await asyncio.gather(*self._handbacks, *self._flow_tasks, return_exceptions=True)
            await channel.close()

    def _stored(self, in_flight: set[asyncio.Task[None]], task: asyncio.Task[None]) -> None:
        in_flight.discard(task)
        self._batcher.storing(len(in_flight))

    async def _handle_batch_of(self, batch: list[Delivery]) -> None:
        try:
            await self._handle(batch)
        finally:
            self._unstored.discard(batch)  # each one acked, dead-lettered or handed back

    def stop(self) -> None:
        self._stopping.set()

    async def _resume(self) -> None:
        if await self._consume():
            metrics.CONSUMING.set(1)
            log.info("consuming", extra={"queue": self.bus.settings.ingest_queue})

    async def _consume(self) -> bool:
        """Consume on the robust channel's current AMQP channel (False: not now, over the byte
        budget or stopping). A new channel (after a reconnect) gets a new ack window: its tags
        start again at 1. The same channel (consuming again after a pause) keeps its window, whose
        tags go on: a second window on it would send multiple acks covering the first one's
        messages, some perhaps still being stored."""
        assert self._channel is not None
        assert self._queue is not None
        async with self._flow:
            raw = await self._channel.get_underlay_channel()
            window = self._window
            if window is None or window.channel is not raw:
                window = AckWindow(raw, self._release)
                self._window = window
            elif self._consumer_tag is not None:
                return True  # already consuming on this channel
            if self._over_budget or self._stopping.is_set():
                return False
            raw.on_consumer_cancel_callbacks.add(self._on_cancelled_by_broker)
            consume_ok = await raw.basic_consume(
                self._queue.name, lambda message: self._on_message(window, message)
            )
            self._consumer_tag = consume_ok.consumer_tag
            return True

    def _release(self, size: int) -> None:
        """A delivery of `size` bytes was settled: under the budget again, consume again."""
        self._held_bytes -= size
        if self._over_budget and self._held_bytes < self.bus.settings.max_bytes_in_flight:
            self._over_budget = False
            self._flow_task(self._within_budget())

    async def _within_budget(self) -> None:
        if self._store_back.is_set() and not self._stopping.is_set() and self._consumer_tag is None:
            await self._resume()  # (paused for the store: its recovery consumes again)

    def _flow_task(self, change: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(change)
        self._flow_tasks.add(task)
        task.add_done_callback(self._flow_tasks.discard)

    async def _on_reopen(self, _channel: object) -> None:
        """The robust channel is open again after a reconnect (it restored the queue and the
        prefetch): consume again, unless paused or stopping."""
        if self._consumer_tag is None or self._stopping.is_set():
            return
        try:
            await self._consume()
            log.info("consuming again after a reconnect", extra={"queue": self.bus.settings.ingest_queue})
        except Exception as exc:
            log.error("consuming again after a reconnect failed: %s", exc)
            raise  # the robust connection sees the failure and reconnects again

    async def _on_cancelled_by_broker(self, frame: aiormq.spec.Basic.Cancel) -> None:
        """The broker cancelled our consumer (its queue was deleted, or its node is going away):
        ask for a reconnect, which consumes again."""
        if frame.consumer_tag != self._consumer_tag or self._stopping.is_set():
            return
        log.warning("consumer cancelled by the broker: reconnecting")
        window = self._window
        if window is not None:
            with contextlib.suppress(Exception):
                await window.channel.close()

    async def _pause(self) -> None:
        """Stop taking messages and hand back every one not yet handled (when stopping)."""
        await self._stop_consuming()
        await self._give_back(self._batcher.drain())

    async def _stop_consuming(self) -> None:
        """Cancel our consumer: the broker delivers no more, and what we hold stays ours, unacked."""
        async with self._flow:
            window = self._window
            if self._consumer_tag is not None and window is not None:
                with contextlib.suppress(Exception):  # a closed channel has no consumer left anyway
                    await window.channel.basic_cancel(self._consumer_tag)
            self._consumer_tag = None
            metrics.CONSUMING.set(0)

    async def _on_message(self, window: AckWindow, message: aiormq.abc.DeliveredMessage) -> None:
        decoded: ChunkMessage | InvalidInput
        try:
            decoded = decode_headers(message.header.properties.headers)
        except InvalidInput as exc:
            decoded = exc  # it will be dead-lettered, not stored
        delivery = window.delivered(message, decoded)
        self._held_bytes += len(delivery.body)
        if not self._over_budget and self._held_bytes >= self.bus.settings.max_bytes_in_flight:
            self._over_budget = True
            log.info("byte budget reached: consumption paused", extra={"bytes": self._held_bytes})
            self._flow_task(self._stop_consuming())
        if delivery.redelivered:
            metrics.REDELIVERIES.inc()
        self._unstored.add(delivery)
        self._batcher.put(delivery)

    async def _handle(self, messages: list[Delivery]) -> None:
        """Handle a batch; if that fails for an unforeseen reason, each message on its own."""
        try:
            await self._handle_batch(messages)
        except Exception as exc:
            log.error("handling a batch of %d failed: %s", len(messages), exc, exc_info=exc)
            metrics.HANDLER_ERRORS.inc()
            pending = [message for message in messages if not message.settled]
            if len(messages) > 1:
                for message in pending:
                    await self._handle([message])
            elif pending:
                await self._failed(pending[0], exc)

    async def _failed(self, message: Delivery, exc: Exception) -> None:
        """Dead-letter a message whose handling failed `handler_attempts` times; else hand it back
        after a backoff (without holding up the other messages)."""
        earlier = _delivery_count(message)
        if earlier + 1 >= self.bus.settings.handler_attempts:
            error = HandlerFailed(f"handling failed {earlier + 1} times, last: {type(exc).__name__}: {exc}")
            await self._refuse(message, error)
            return
        delay = HANDBACK_DELAY_S * 2**earlier * random.uniform(0.5, 1.0)
        message.window.park(message)
        task = asyncio.create_task(self._give_back_later(message, delay))
        self._handbacks.add(task)
        task.add_done_callback(self._handbacks.discard)

    async def _give_back_later(self, message: Delivery, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        finally:  # stopping gives it back at once
            await message.window.hand_back(message)

    async def _handle_batch(self, messages: list[Delivery]) -> None:
        chunks: list[Chunk] = []
        carried: list[Delivery] = []
        sent: list[float | None] = []
        private_jobs: set[str] = set()
        for message in messages:
            decoded = message.decoded
            if isinstance(decoded, InvalidInput):
                await self._refuse(message, decoded)
                continue
            try:
                chunk = self.service.validate(decoded.job_id, decoded.clock, message.body, decoded.final)
            except InvalidInput as exc:
                await self._refuse(message, exc)
                continue
            chunks.append(chunk)
            carried.append(message)
            sent.append(decoded.sent_at)
            if decoded.private:
                private_jobs.add(chunk.job_id)
        if not chunks:
            return
        outcomes = await self._store(chunks, private_jobs, carried)
        if outcomes is None:
            return
        now = time.time()
        stored: list[Delivery] = []
        for message, outcome, sent_at in zip(carried, outcomes, sent, strict=True):
            if isinstance(outcome, InvalidInput):
                await self._refuse(message, outcome)
                continue
            if sent_at is not None:
                metrics.SENT_TO_STORED_SECONDS.observe(max(0.0, now - sent_at))
            stored.append(message)
        await _ack(stored)

    async def _refuse(self, message: Delivery, error: LogstoreError) -> None:
        try:
            await dead_letter(self.bus, message, error)
        except BusUnavailable as exc:
            log.warning("dead-letter not confirmed, message handed back: %s", exc)
            await message.window.hand_back(message)
            return
        await message.window.ack([message])

    async def _give_back(self, messages: list[Delivery]) -> None:
        self._unstored.discard(messages)
        for message in messages:
            await message.window.hand_back(message)

    async def _store(
        self, chunks: list[Chunk], private_jobs: set[str], carried: list[Delivery]
    ) -> Sequence[Outcome] | None:
        """The batch's outcomes once stored, holding its messages while the store cannot write;
        None when they were put back on the queue instead."""
        probed_rounds = 0  # the store answered a probe, and this batch was refused after it
        while True:
            epoch = self._store_epoch
            try:
                async for attempt in store_retrying():
                    with attempt:
                        outcomes = await self.service.ingest_batch(chunks, private_jobs)
                return outcomes
            except BusUnavailable as exc:
                log.warning("batch handed back to the broker: %s", exc, extra={"chunks": len(chunks)})
                await self._give_back(carried)
                return None
            except StoreUnavailable as exc:
                if self._store_epoch != epoch:
                    continue  # the store came back while this attempt failed: try it again now
                if probed_rounds >= SUSPECT_ROUNDS:
                    log.warning(
                        "batch handed back to the broker: the store answers probes but refuses it: %s",
                        exc,
                        extra={"chunks": len(chunks)},
                    )
                    await self._give_back(carried)
                    return None
                if not await self._hold(carried, exc):
                    return None
                probed_rounds += 1

    async def _hold(self, messages: list[Delivery], exc: StoreUnavailable) -> bool:
        """Keep these messages unacknowledged, consumption paused, until the store takes writes
        again: True then. At `hold_s` from the oldest one's delivery, or when stopping, put fresh
        copies of them on the queue instead and return False."""
        until = min(message.received_at for message in messages) + self.bus.settings.hold_s
        if time.monotonic() < until and not self._stopping.is_set():
            for message in messages:
                message.window.park(message)  # the acks of stored messages behind them go one by one
            metrics.HELD.inc(len(messages))
            log.warning("store cannot write a batch: held: %s", exc, extra={"chunks": len(messages)})
            try:
                if await self._wait_for_store(until):
                    return True
            finally:
                metrics.HELD.dec(len(messages))
        await self._requeue_fresh(messages)
        return False

    async def _wait_for_store(self, until: float) -> bool:
        """True once the store takes writes again (and consumption resumed); False at `until`
        (monotonic seconds) or when stopping. The first batch to find the store down starts the
        pause and the probes; batches failing meanwhile wait for the same outcome."""
        if self._store_back.is_set() or self._recovery is None or self._recovery.done():
            self._store_back.clear()  # (a recovery that ended without the store back is started again)
            self._recovery = asyncio.create_task(self._recover())
        back = asyncio.create_task(self._store_back.wait())
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            left = max(0.0, until - time.monotonic())
            await asyncio.wait({back, stopping}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        finally:
            back.cancel()
            stopping.cancel()
        return self._store_back.is_set() and not self._stopping.is_set()

    async def _recover(self) -> None:
        """Paused: ask the store (through the breaker) with backoff and jitter until it takes a
        write, then consume again. Messages waiting in the batcher past `hold_s` go back as fresh
        copies meanwhile (those in batches see to themselves)."""
        await self._stop_consuming()
        log.warning("store cannot take writes: consumption paused, messages in hand held")
        settings = self.bus.settings
        delay = settings.store_probe_s
        while not self._stopping.is_set():
            wait = max(self.service.breaker.seconds_until_trial(), delay * random.uniform(0.5, 1.0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
            if self._stopping.is_set():
                return
            delay = min(delay * 2, settings.store_probe_max_s)
            await self._requeue_fresh(self._batcher.take_if(_held_since(time.monotonic() - settings.hold_s)))
            try:
                await self.service.breaker.call(self.service.store.ping)
            except StoreUnavailable:
                metrics.STORE_PROBES.labels("refused").inc()
                continue
            except Exception as exc:  # an unforeseen failure of the probe: ask again, never give up
                metrics.STORE_PROBES.labels("refused").inc()
                log.warning("store probe failed: %s", exc)
                continue
            metrics.STORE_PROBES.labels("ok").inc()
            try:
                await self._resume()
            except Exception as exc:  # the channel failed meanwhile: try again, never stay paused
                log.warning("store is back but consuming again failed: %s", exc)
                continue
            log.info("store takes writes again: consumption resumed")
            self._store_epoch += 1
            self._store_back.set()
            return

    async def _requeue_fresh(self, messages: list[Delivery]) -> None:
        """Put a copy of each message on the ingest queue, confirmed, then ack the original: the
        copy starts with no delivery counted, where a nack would count one (RabbitMQ before 4.3)
        and so would the broker closing the channel at its consumer_timeout. A copy that is not
        confirmed falls back to a nack."""
        if not messages:
            return
        self._unstored.discard(messages)
        queue = self.bus.settings.ingest_queue
        copies = [self.bus.publish_durable(queue, m.body, _fresh_headers(m.headers)) for m in messages]
        results = await asyncio.gather(*copies, return_exceptions=True)
        confirmed = []
        for message, result in zip(messages, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("fresh copy not confirmed, message handed back: %s", result)
                await message.window.hand_back(message)
            else:
                confirmed.append(message)
        metrics.REQUEUED_FRESH.inc(len(confirmed))
        if confirmed:
            log.warning("held messages put back as fresh copies", extra={"messages": len(confirmed)})
        await _ack(confirmed)


def _held_since(cutoff: float) -> Callable[[Delivery], bool]:
    """Picks the messages delivered at or before `cutoff` (monotonic seconds)."""
    return lambda message: message.received_at <= cutoff


def _fresh_headers(headers: dict[str, Any] | None) -> dict[str, Any]:
    """The headers of a fresh copy: the sender's, without the broker's count of deliveries."""
    return {name: value for name, value in (headers or {}).items() if name != DELIVERY_COUNT}


def _delivery_count(message: Delivery) -> int:
    """Earlier deliveries of this message, as the quorum queue counts them (0 when unknown)."""
    count = (message.headers or {}).get(DELIVERY_COUNT)
    if type(count) is int and count >= 0:
        return count
    return 1 if message.redelivered else 0


async def _ack(messages: list[Delivery]) -> None:
    """Ack a batch's stored messages, window by window (all of a batch share one, unless the
    channel was reopened while the batch was gathered)."""
    by_window: dict[AckWindow, list[Delivery]] = {}
    for message in messages:
        by_window.setdefault(message.window, []).append(message)
    for window, mine in by_window.items():
        await window.ack(mine)

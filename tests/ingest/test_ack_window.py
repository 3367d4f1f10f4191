"""The ack window: a `multiple` ack never covers a message that is not yet settled, a nack is sent
before any ack that could cover it, and a parked head holds no other ack back."""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace

import aiormq
import pytest

from ingest.ack_window import AckWindow, Delivery
from logstore.bus.messages import decode_headers


class RecordingChannel:
    """The frames a window sends, in order, and what the broker would still hold unacked."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, int, bool]] = []
        self.unacked: set[int] = set()
        self.errors: list[str] = []  # frames the broker would refuse (closing the channel)
        self.closed = False

    async def basic_ack(self, tag: int, multiple: bool = False, wait: bool = True) -> None:
        self._settle("ack", tag, multiple)

    async def basic_nack(
        self, tag: int, multiple: bool = False, requeue: bool = True, wait: bool = True
    ) -> None:
        self._settle("nack", tag, multiple)

    def _settle(self, kind: str, tag: int, multiple: bool) -> None:
        if self.closed:
            raise ConnectionError("channel closed")
        if tag not in self.unacked:  # the broker closes the channel: PRECONDITION_FAILED
            self.errors.append(f"{kind} of unknown delivery tag {tag}")
        self.frames.append((kind, tag, multiple))
        covered = {t for t in self.unacked if t <= tag} if multiple else {tag}
        self.unacked -= covered


def deliver(window: AckWindow, channel: RecordingChannel, tags: range) -> list[Delivery]:
    found = []
    for tag in tags:
        channel.unacked.add(tag)
        message = SimpleNamespace(
            body=b"x",
            header=SimpleNamespace(properties=SimpleNamespace(headers={"job_id": "j", "clock": tag})),
            delivery=_deliver_frame(tag),
        )
        decoded = decode_headers(message.header.properties.headers)
        found.append(window.delivered(message, decoded))  # type: ignore[arg-type]
    return found


def _deliver_frame(tag: int) -> object:
    return aiormq.spec.Basic.Deliver(consumer_tag="c", delivery_tag=tag, redelivered=False)


def window_on() -> tuple[AckWindow, RecordingChannel]:
    channel = RecordingChannel()
    return AckWindow(channel), channel  # type: ignore[arg-type]


async def test_a_batch_stored_in_order_is_acked_with_one_frame() -> None:
    window, channel = window_on()
    batch = deliver(window, channel, range(1, 201))
    await window.ack(batch)
    assert channel.frames == [("ack", 200, True)]
    assert channel.unacked == set()
    assert channel.errors == []
    assert all(message.settled for message in batch)


async def test_a_later_batch_stored_first_waits_for_the_earlier_one() -> None:
    window, channel = window_on()
    first = deliver(window, channel, range(1, 101))
    second = deliver(window, channel, range(101, 201))
    await window.ack(second)
    assert channel.frames == []  # an ack of 200 would also ack 1..100, not yet stored
    assert channel.unacked == set(range(1, 201))
    await window.ack(first)
    assert channel.frames == [("ack", 200, True)]
    assert channel.unacked == set()


async def test_a_message_handed_back_is_nacked_alone_and_never_covered_by_an_ack() -> None:
    window, channel = window_on()
    messages = deliver(window, channel, range(1, 11))
    await window.ack(messages[5:])  # 6..10 stored; 1..5 still being stored
    await window.hand_back(messages[2])  # 3 handed back (a store outage, a failing message)
    assert channel.frames == [("nack", 3, False)]
    await window.ack(messages[:2] + messages[3:5])
    assert channel.frames == [("nack", 3, False), ("ack", 10, True)]
    assert channel.unacked == set()


async def test_a_parked_head_does_not_hold_back_the_acks_behind_it() -> None:
    window, channel = window_on()
    messages = deliver(window, channel, range(1, 6))
    window.park(messages[0])  # handed back later, after a backoff
    await window.ack(messages[1:3])
    assert channel.frames == [("ack", 2, False), ("ack", 3, False)]
    await window.hand_back(messages[0])
    await window.ack(messages[3:])
    assert channel.frames[2:] == [("nack", 1, False), ("ack", 5, True)]
    assert channel.unacked == set()


@pytest.mark.parametrize("seed", range(20))
async def test_in_any_order_of_settling_no_message_is_acked_before_it_is_settled(seed: int) -> None:
    rng = random.Random(seed)
    window, channel = window_on()
    messages = deliver(window, channel, range(1, 301))
    order = messages[:]
    rng.shuffle(order)
    while order:
        size = rng.randint(1, 40)
        group, order = order[:size], order[size:]
        if rng.random() < 0.2:  # its first message fails: parked, or handed back at once
            if rng.random() < 0.5:
                window.park(group[0])
                order.append(group[0])  # handed back later
            else:
                await window.hand_back(group[0])
            group = group[1:]
        if group and group[0].tag in window._parked and rng.random() < 0.5:
            await window.hand_back(group.pop(0))
        await window.ack(group)
        assert {m.tag for m in messages if not m.settled} <= channel.unacked
    assert channel.unacked == set()
    assert channel.errors == []
    assert len(channel.frames) < len(messages)  # grouped


async def test_frames_on_a_closed_channel_are_only_logged() -> None:
    window, channel = window_on()
    batch = deliver(window, channel, range(1, 4))
    channel.closed = True
    await window.ack(batch)  # the broker redelivers them: no exception reaches the batch
    await asyncio.sleep(0)
    assert channel.frames == []


class FakeAmqpChannel:
    def __init__(self) -> None:
        self.on_consumer_cancel_callbacks: set[object] = set()
        self.consumes = 0

    async def basic_consume(self, queue: str, callback: object) -> SimpleNamespace:
        self.consumes += 1
        return SimpleNamespace(consumer_tag=f"ctag-{self.consumes}")


class FakeRobustChannel:
    def __init__(self, underlay: FakeAmqpChannel) -> None:
        self.underlay = underlay

    async def get_underlay_channel(self) -> FakeAmqpChannel:
        return self.underlay


async def test_one_window_per_channel_across_a_pause_and_a_new_one_after_a_reconnect() -> None:
    from ingest.consumer import AmqpIngester
    from logstore.config import BusSettings

    ingester = AmqpIngester(None, SimpleNamespace(settings=BusSettings()))  # type: ignore[arg-type]
    first = FakeAmqpChannel()
    ingester._channel = FakeRobustChannel(first)  # type: ignore[assignment]
    ingester._queue = SimpleNamespace(name="q")  # type: ignore[assignment]
    await ingester._consume()
    window = ingester._window
    assert window is not None
    await ingester._consume()  # already consuming on this channel: nothing to do
    assert first.consumes == 1
    await ingester._stop_consuming()  # a pause (the store is down, or the byte budget reached)
    await ingester._consume()  # consuming again on the same channel, after a pause
    assert ingester._window is window  # its tags go on: a second window would ack across them
    second = FakeAmqpChannel()
    ingester._channel = FakeRobustChannel(second)  # type: ignore[assignment]
    await ingester._consume()  # after a reconnect: tags start again at 1
    assert ingester._window is not window
    assert ingester._window is not None
    channel: object = ingester._window.channel
    assert channel is second
    assert (first.consumes, second.consumes) == (2, 1)

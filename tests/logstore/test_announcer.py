"""The background announcer: never makes ingest wait, keeps order, stays bounded, survives a
broker that fails."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from prometheus_client import REGISTRY

from logstore.bus.announcer import Announcer
from logstore.bus.interface import Announcement


def dropped(reason: str) -> float:
    return REGISTRY.get_sample_value("logstore_bus_announcements_dropped_total", {"reason": reason}) or 0.0


def announcement(clock: int, size: int = 10) -> Announcement:
    return Announcement("job-a", clock, bytes([clock % 256]) * size, False, 1.0)


async def test_offers_are_published_in_order_without_waiting() -> None:
    published: list[int] = []
    gate = asyncio.Event()

    async def publish(group: Sequence[Announcement]) -> None:
        await gate.wait()
        published.extend(a.clock for a in group)

    announcer = Announcer(publish)
    for clock in range(1000):
        announcer.offer(announcement(clock))  # returns at once although nothing can be published yet
    assert published == []
    gate.set()
    await announcer.flush()
    assert published == list(range(1000))
    await announcer.close()


async def test_the_queue_is_bounded_in_bytes_and_drops_are_counted() -> None:
    gate = asyncio.Event()
    published: list[int] = []

    async def publish(group: Sequence[Announcement]) -> None:
        await gate.wait()
        published.extend(a.clock for a in group)

    announcer = Announcer(publish, queued_bytes=1000)
    before = dropped("queue_full")
    for clock in range(30):
        announcer.offer(announcement(clock, size=100))
    # ten fit; the first round takes them off the queue and waits at the gate, so ten more fit
    await asyncio.sleep(0)
    for clock in range(30, 60):
        announcer.offer(announcement(clock, size=100))
    assert dropped("queue_full") - before == 40
    gate.set()
    await announcer.flush()
    assert published == [*range(10), *range(30, 40)]
    await announcer.close()


async def test_a_failed_round_is_counted_and_the_next_one_goes_out() -> None:
    published: list[int] = []
    calls = 0

    async def publish(group: Sequence[Announcement]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("channel closed")
        published.extend(a.clock for a in group)

    announcer = Announcer(publish)
    before = dropped("publish_failed")
    announcer.offer(announcement(0))
    await announcer.flush()
    assert dropped("publish_failed") - before == 1
    announcer.offer(announcement(1))
    await announcer.flush()
    assert published == [1]
    await announcer.close()

"""The live hub: viewers of one job share a subscription, viewers of different jobs never wait for
each other's, and a subscription is closed exactly when its last viewer has left, whatever the
order of arrivals, departures and failures."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from prometheus_client import REGISTRY

import stream.metrics  # noqa: F401  (registers the gauges read below)
from logstore.bus.interface import Announcement
from logstore.bus.memory import MemoryBus, MemorySubscription
from logstore.errors import BusUnavailable
from stream.fanout import LiveHub


class GatedBus(MemoryBus):
    """A memory bus whose subscriptions are made only when the test opens the job's gate (the
    broker round trip of a binding), and which can be told to fail them."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.failing: set[str] = set()
        self.made: list[str] = []
        self.closed: list[str] = []

    async def subscribe(self, job_id: str) -> MemorySubscription:
        await self.gates[job_id].wait()
        if job_id in self.failing:
            raise BusUnavailable(f"no binding for {job_id}")
        self.made.append(job_id)
        subscription = await super().subscribe(job_id)
        assert isinstance(subscription, MemorySubscription)
        return subscription

    def open(self, job_id: str) -> None:
        self.gates[job_id].set()

    @property
    def bound(self) -> dict[str, int]:
        return {job: len(subs) for job, subs in self.subscribers.items() if subs}


def following() -> float:
    return REGISTRY.get_sample_value("logstore_stream_viewers_following") or 0.0


def live_jobs() -> float:
    return REGISTRY.get_sample_value("logstore_stream_live_jobs") or 0.0


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_job_whose_subscription_is_slow_holds_up_no_other_job() -> None:
    bus = GatedBus()
    hub = LiveHub(bus)
    bus.open("b")
    slow = asyncio.create_task(hub.join("a"))
    await settle()
    fast = await asyncio.wait_for(hub.join("b"), 5)  # with one lock for all jobs this waited for "a"
    assert not slow.done()
    await bus.announce(Announcement("b", 0, b"line\n", False))
    assert (await fast.next(5)) == Announcement("b", 0, b"line\n", False)
    bus.open("a")
    viewer_a = await asyncio.wait_for(slow, 5)
    assert bus.made == ["b", "a"]
    await hub.leave(fast)
    await hub.leave(viewer_a)
    assert bus.bound == {}


async def test_viewers_of_one_job_share_one_subscription_made_once() -> None:
    bus = GatedBus()
    hub = LiveHub(bus)
    base_following, base_jobs = following(), live_jobs()
    joining = [asyncio.create_task(hub.join("job")) for _ in range(5)]
    await settle()
    assert not any(task.done() for task in joining)  # nobody follows before the subscription exists
    assert following() == base_following
    bus.open("job")
    viewers = await asyncio.wait_for(asyncio.gather(*joining), 5)
    assert bus.made == ["job"]
    assert bus.bound == {"job": 1}
    assert following() == base_following + 5
    assert live_jobs() == base_jobs + 1
    await bus.announce(Announcement("job", 0, b"x", False))
    for viewer in viewers:
        assert (await viewer.next(5)) == Announcement("job", 0, b"x", False)
    for viewer in viewers[:-1]:
        await hub.leave(viewer)
    assert bus.bound == {"job": 1}  # one viewer left on it
    await hub.leave(viewers[-1])
    assert bus.bound == {}
    assert following() == base_following
    assert live_jobs() == base_jobs


async def test_the_last_viewer_leaving_while_the_subscription_is_made_closes_it_once_made() -> None:
    bus = GatedBus()
    hub = LiveHub(bus)
    base_jobs = live_jobs()
    joining = asyncio.create_task(hub.join("job"))
    await settle()
    joining.cancel()  # the viewer hung up while its binding was being made
    with pytest.raises(asyncio.CancelledError):
        await joining
    assert live_jobs() == base_jobs
    bus.open("job")
    for _ in range(50):
        await settle()
        if bus.made:
            break
    await settle()
    assert bus.made == ["job"]
    assert bus.bound == {}  # made after everyone left, and closed at once
    again = await asyncio.wait_for(hub.join("job"), 5)  # a new viewer gets a new subscription
    assert bus.made == ["job", "job"]
    assert bus.bound == {"job": 1}
    await hub.leave(again)
    assert bus.bound == {}


async def test_a_failed_subscription_fails_its_waiting_viewers_and_the_next_one_tries_again() -> None:
    bus = GatedBus()
    hub = LiveHub(bus)
    base_following, base_jobs = following(), live_jobs()
    bus.failing.add("job")
    joining = [asyncio.create_task(hub.join("job")) for _ in range(3)]
    await settle()
    bus.open("job")
    results = await asyncio.gather(*joining, return_exceptions=True)
    assert all(isinstance(result, BusUnavailable) for result in results)
    assert following() == base_following
    assert live_jobs() == base_jobs
    bus.failing.clear()
    viewer = await asyncio.wait_for(hub.join("job"), 5)
    assert bus.bound == {"job": 1}
    assert following() == base_following + 1
    await hub.leave(viewer)
    assert bus.bound == {}
    assert live_jobs() == base_jobs


async def test_a_leave_cancelled_while_it_closes_the_subscription_still_closes_it() -> None:
    bus = GatedBus()
    hub = LiveHub(bus)
    bus.open("job")
    viewer = await asyncio.wait_for(hub.join("job"), 5)
    leaving = asyncio.create_task(hub.leave(viewer))
    await asyncio.sleep(0)  # the leave has started closing
    leaving.cancel()  # and is cancelled (the server shutting down)
    with pytest.raises(asyncio.CancelledError):
        await leaving
    for _ in range(50):
        await settle()
    assert bus.bound == {}  # closed all the same

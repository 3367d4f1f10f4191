"""The in-process bus of the embedded mode (`memory://`): one process, no broker."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

from logstore.bus.interface import Announcement, Bus, Subscription, WorkItem


class MemorySubscription(Subscription):
    def __init__(self, bus: MemoryBus, job_id: str) -> None:
        super().__init__(job_id)
        self._bus = bus

    async def close(self) -> None:
        self._bus.subscribers[self.job_id].discard(self)


class MemoryWorkItem(WorkItem):
    def __init__(self, bus: MemoryBus, job_id: str) -> None:
        self._bus = bus
        self.job_id = job_id

    async def done(self) -> None:
        self._bus.unsettled.release()

    async def retry(self) -> None:
        self._bus.requests.put_nowait(self.job_id)
        self._bus.unsettled.release()


class MemoryBus(Bus):
    def __init__(self) -> None:
        self.subscribers: defaultdict[str, set[MemorySubscription]] = defaultdict(set)
        self.requests: asyncio.Queue[str] = asyncio.Queue()
        self.unsettled = asyncio.Semaphore(1)

    async def announce(self, announcement: Announcement) -> None:
        for subscription in list(self.subscribers.get(announcement.job_id, ())):
            subscription.offer(announcement)

    async def request_compaction(self, job_id: str) -> None:
        self.requests.put_nowait(job_id)

    async def subscribe(self, job_id: str) -> Subscription:
        subscription = MemorySubscription(self, job_id)
        self.subscribers[job_id].add(subscription)
        return subscription

    async def compaction_requests(self, prefetch: int) -> AsyncIterator[WorkItem]:
        self.unsettled = asyncio.Semaphore(prefetch)
        while True:
            await self.unsettled.acquire()
            yield MemoryWorkItem(self, await self.requests.get())

    async def close(self) -> None:
        self.subscribers.clear()

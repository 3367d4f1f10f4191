"""What the services need from a bus.

- `announce`: tell live viewers that a chunk is stored. At most once and possibly late: a viewer
  that misses an announcement fills the gap from the store, so announcing never blocks ingest.
- `request_compaction`: durable; returns only once the broker has the request (publisher
  confirm). A job may be requested more than once; compaction is idempotent.
- `subscribe`: announcements for one job, from now on, in arrival order (not clock order).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Announcement:
    job_id: str
    clock: int
    data: bytes
    final: bool
    stored_at: float = 0.0  # unix seconds when the ingester had it stored (for latency metrics)


SUBSCRIBER_BUFFER = 1024  # announcements held per subscription; beyond it they are dropped (and
# the viewer catches up from the store, as after any lost announcement)


class Subscription(ABC):
    """One job's announcements for one subscriber, in a bounded queue."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.queue: asyncio.Queue[Announcement] = asyncio.Queue(SUBSCRIBER_BUFFER)

    def offer(self, announcement: Announcement) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # the viewer catches up from the store
            self.queue.put_nowait(announcement)

    async def __aiter__(self) -> AsyncIterator[Announcement]:
        while True:
            yield await self.queue.get()

    @abstractmethod
    async def close(self) -> None: ...


class WorkItem(ABC):
    """A compaction request taken from the queue: settle it with `done` or `retry`."""

    job_id: str

    @abstractmethod
    async def done(self) -> None: ...

    @abstractmethod
    async def retry(self) -> None:
        """Hand it back to be tried again (by this or another compactor)."""


class Bus(ABC):
    @abstractmethod
    async def announce(self, announcement: Announcement) -> None:
        """Best effort: never raises for a broker hiccup (it is counted and logged)."""

    @abstractmethod
    async def request_compaction(self, job_id: str) -> None:
        """Durable; raises BusUnavailable when the request could not be handed over."""

    @abstractmethod
    async def subscribe(self, job_id: str) -> Subscription: ...

    @abstractmethod
    def compaction_requests(self, prefetch: int) -> AsyncIterator[WorkItem]:
        """Requests in arrival order, at most `prefetch` of them unsettled at a time."""

    @abstractmethod
    async def close(self) -> None: ...

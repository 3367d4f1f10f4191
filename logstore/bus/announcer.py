"""Live announcements sent off the ingest path: `offer` queues and returns at once, one task per
process publishes in arrival order.

Announcements are best effort (a viewer fills any gap from the store), so ingest never waits for
them: before, every stored chunk awaited its own publish, with a task and a timeout each, which
was about a sixth of an ingester's CPU (docs/performance-history.md, 2026-11-24, the write path of
issue 12). The queue is bounded in bytes (chunks may be 1 MiB): when the broker is slow or away,
what does not fit is dropped and counted, and memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import Counter

from logstore.bus.interface import Announcement

log = logging.getLogger("logstore.bus")

QUEUED_BYTES = 64 * 1024 * 1024  # announcement data waiting to be published, at most
PUBLISH_GROUP = 256  # announcements taken off the queue per publishing round
ROUND_TIMEOUT_S = 6.0  # a round the broker does not take in this time is given up

DROPPED = Counter(
    "logstore_bus_announcements_dropped_total",
    "Live announcements not published (viewers then read the chunks from the store), by reason",
    ["reason"],
)

PublishMany = Callable[[Sequence[Announcement]], Awaitable[None]]


class Announcer:
    def __init__(self, publish_many: PublishMany, queued_bytes: int = QUEUED_BYTES) -> None:
        self._publish_many = publish_many
        self._limit = queued_bytes
        self._queue: deque[Announcement] = deque()
        self._bytes = 0
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()  # nothing queued, nothing being sent
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def offer(self, announcement: Announcement) -> None:
        """Queue an announcement; never waits. Dropped (counted) when the queue is full."""
        if self._bytes + len(announcement.data) > self._limit:
            DROPPED.labels("queue_full").inc()
            return
        self._queue.append(announcement)
        self._bytes += len(announcement.data)
        self._idle.clear()
        self._ready.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="announcer")

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            group = self._take()
            if not group:
                self._ready.clear()
                self._idle.set()
                continue
            try:
                async with asyncio.timeout(ROUND_TIMEOUT_S):
                    await self._publish_many(group)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker hiccuped: these are lost, the next round tries again
                DROPPED.labels("publish_failed").inc(len(group))
                log.warning("%d announcements lost: %s", len(group), exc, extra={"job_id": group[0].job_id})

    def _take(self) -> list[Announcement]:
        group: list[Announcement] = []
        while self._queue and len(group) < PUBLISH_GROUP:
            announcement = self._queue.popleft()
            self._bytes -= len(announcement.data)
            group.append(announcement)
        return group

    async def flush(self, within_s: float = 5.0) -> None:
        """Wait (bounded) until everything queued has been handed to the broker."""
        if self._task is not None and not self._task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), within_s)

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

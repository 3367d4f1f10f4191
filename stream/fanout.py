"""Fan-out: one live subscription per job per process, shared by all of that job's viewers.

Each viewer gets a mailbox bounded in bytes. When a viewer falls behind and its mailbox is full,
further announcements for it are dropped and it is marked lagging: it then catches up from the
store, which holds everything. A slow viewer therefore never delays the others and never makes
this process hold more than MAILBOX_BYTES for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from logstore.bus import Announcement, Bus, Subscription
from stream import metrics

log = logging.getLogger("logstore.stream")

MAILBOX_BYTES = 1024 * 1024  # per viewer: announcements held for it before it is made to catch up


class Viewer:
    """One viewer's mailbox of announcements, in arrival order."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self._items: deque[Announcement] = deque()
        self._bytes = 0
        self._ready = asyncio.Event()
        self.lagging = False

    def offer(self, announcement: Announcement) -> None:
        if self._bytes + len(announcement.data) > MAILBOX_BYTES:
            if not self.lagging:
                metrics.VIEWERS_LAGGING.inc()
            self.lagging = True
        else:
            self._items.append(announcement)
            self._bytes += len(announcement.data)
        self._ready.set()

    async def next(self, timeout_s: float) -> Announcement | None:
        """The next announcement, or None after `timeout_s` (or at once when lagging)."""
        if not self._items and not self.lagging:
            self._ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout_s)
        if not self._items:
            return None
        item = self._items.popleft()
        self._bytes -= len(item.data)
        return item

    def take_lag(self) -> bool:
        """True once after the mailbox overflowed; the mailbox is emptied (the store has it all)."""
        if not self.lagging:
            return False
        self.lagging = False
        self._items.clear()
        self._bytes = 0
        return True


class _JobFeed:
    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.viewers: set[Viewer] = set()
        self.task: asyncio.Task[None] | None = None

    async def pump(self) -> None:
        async for announcement in self.subscription:
            for viewer in list(self.viewers):
                viewer.offer(announcement)


class LiveHub:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._feeds: dict[str, _JobFeed] = {}
        self._lock = asyncio.Lock()

    async def join(self, job_id: str) -> Viewer:
        viewer = Viewer(job_id)
        async with self._lock:
            feed = self._feeds.get(job_id)
            if feed is None:
                feed = _JobFeed(await self._bus.subscribe(job_id))
                feed.task = asyncio.create_task(feed.pump(), name=f"feed-{job_id}")
                self._feeds[job_id] = feed
                metrics.LIVE_JOBS.inc()
            feed.viewers.add(viewer)
        return viewer

    async def leave(self, viewer: Viewer) -> None:
        async with self._lock:
            feed = self._feeds.get(viewer.job_id)
            if feed is None:
                return
            feed.viewers.discard(viewer)
            if not feed.viewers:
                del self._feeds[viewer.job_id]
                metrics.LIVE_JOBS.dec()
                if feed.task is not None:
                    feed.task.cancel()
                await feed.subscription.close()

    @property
    def live_jobs(self) -> int:
        return len(self._feeds)

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
import time
from collections import deque

from logstore.bus import Announcement, Bus, Subscription
from stream import metrics

log = logging.getLogger("logstore.stream")

MAILBOX_BYTES = 1024 * 1024  # per viewer: announcements held for it before it is made to catch up


class Viewer:
    """One viewer's mailbox of announcements, in arrival order."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self._items: deque[tuple[Announcement, float]] = deque()
        self._bytes = 0
        self.seen_at = 0.0  # when the announcement `next` returned last was offered (monotonic)
        self._ready = asyncio.Event()
        self.lagging = False
        self.following = False  # joined: its job's announcements reach it

    def offer(self, announcement: Announcement) -> None:
        if self._bytes + len(announcement.data) > MAILBOX_BYTES:
            if not self.lagging:
                metrics.VIEWERS_LAGGING.inc()
            self.lagging = True
        else:
            self._items.append((announcement, time.monotonic()))
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
        item, self.seen_at = self._items.popleft()
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
    """One job's live subscription and its viewers. The subscription is made by a task of its
    own, so a viewer that leaves while it is being made cannot cancel it for the others."""

    def __init__(self) -> None:
        self.starting: asyncio.Task[Subscription] | None = None
        self.viewers: set[Viewer] = set()
        self.pumping: asyncio.Task[None] | None = None

    async def pump(self, subscription: Subscription) -> None:
        async for announcement in subscription:
            for viewer in list(self.viewers):
                viewer.offer(announcement)


class LiveHub:
    """Viewers of the same job share one subscription. No lock spans jobs: when many viewers of
    many jobs arrive at once, their subscriptions are made side by side (each is a broker round
    trip), and a viewer waits only for its own job's (measured: 500 viewers of 100 jobs arriving
    together waited up to 0.76 s for the one lock this replaced; docs/performance-history.md,
    2026-11-24, session 6)."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._feeds: dict[str, _JobFeed] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def join(self, job_id: str) -> Viewer:
        """A mailbox that gets every announcement of `job_id` made after this returns."""
        viewer = Viewer(job_id)
        feed = self._feeds.get(job_id)
        if feed is None:
            feed = self._feeds[job_id] = _JobFeed()
            feed.starting = asyncio.create_task(self._subscribe(feed, job_id), name=f"subscribe-{job_id}")
            metrics.LIVE_JOBS.inc()
        feed.viewers.add(viewer)
        assert feed.starting is not None
        try:
            await asyncio.shield(feed.starting)
        except BaseException:  # the subscription failed, or this viewer left while it was made
            await self.leave(viewer)
            raise
        metrics.FOLLOWING.inc()
        viewer.following = True
        return viewer

    async def _subscribe(self, feed: _JobFeed, job_id: str) -> Subscription:
        try:
            subscription = await self._bus.subscribe(job_id)
        except BaseException:
            if self._feeds.get(job_id) is feed:  # the next viewer tries again
                del self._feeds[job_id]
                metrics.LIVE_JOBS.dec()
            raise
        if feed.viewers:  # else the last viewer left meanwhile, and closes it
            feed.pumping = asyncio.create_task(feed.pump(subscription), name=f"feed-{job_id}")
        return subscription

    async def leave(self, viewer: Viewer) -> None:
        feed = self._feeds.get(viewer.job_id)
        if feed is None or viewer not in feed.viewers:
            return
        feed.viewers.discard(viewer)
        if viewer.following:
            viewer.following = False
            metrics.FOLLOWING.dec()
        if feed.viewers:
            return
        del self._feeds[viewer.job_id]  # a viewer arriving from now on starts a new subscription
        metrics.LIVE_JOBS.dec()
        # A task of its own: closing must happen even if this leave is cancelled (else the
        # binding would outlive every viewer). A subscription still being made is closed once
        # made, without keeping the departing viewer waiting for it.
        closing = asyncio.create_task(self._close(feed), name=f"unsubscribe-{viewer.job_id}")
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        assert feed.starting is not None
        if feed.starting.done():
            await asyncio.shield(closing)

    @staticmethod
    async def _close(feed: _JobFeed) -> None:
        if feed.pumping is not None:
            feed.pumping.cancel()
        assert feed.starting is not None
        try:
            subscription = await feed.starting
        except BaseException:  # never made: nothing to close
            return
        if feed.pumping is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await feed.pumping
        await subscription.close()

    @property
    def live_jobs(self) -> int:
        return len(self._feeds)

"""Gather delivered messages into batches that grow with the load.

A batch is cut when it holds `size` messages, or when its first message has waited `linger_s`
and no batch is being stored. So an idle ingester stores a lone chunk after the linger, and a busy
one keeps gathering while the store works and sends what arrived meanwhile as one batch: under a
backlog, batches fill up (about one row group per job instead of one statement per chunk, and one
job-row and digest read per batch instead of per few chunks), while a light load keeps its latency
(a chunk waits at most for the batch in the store, then its own write).

Nothing here awaits per message: `put` only appends and checks, and the timer and the consumer's
`storing` calls wake the one waiting `next_batch`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    def __init__(self, size: int, linger_s: float) -> None:
        self.size = size
        self.linger_s = linger_s
        self._items: deque[T] = deque()
        self._cut = asyncio.Event()  # a batch may be taken
        self._lingered = False  # the oldest waiting message has waited linger_s
        self._timer: asyncio.TimerHandle | None = None
        self._storing = 0  # batches being stored (the consumer says)

    def put(self, item: T) -> None:
        self._items.append(item)
        if self._timer is None and not self._lingered:
            self._start_linger()
        self._check()

    def storing(self, batches: int) -> None:
        """How many batches are being stored now; at 0, a lingered partial batch may go."""
        self._storing = batches
        self._check()

    async def next_batch(self) -> list[T]:
        await self._cut.wait()
        batch = [self._items.popleft() for _ in range(min(self.size, len(self._items)))]
        self._restart()
        if self._items:  # the rest starts its own linger now
            self._start_linger()
            self._check()
        return batch

    def drain(self) -> list[T]:
        """Take everything waiting (to hand it back to the broker when pausing or stopping)."""
        items = list(self._items)
        self._items.clear()
        self._restart()
        return items

    def take_if(self, wanted: Callable[[T], bool]) -> list[T]:
        """Take the waiting items `wanted` picks (those held too long while the store is down);
        the others keep their places."""
        taken: list[T] = []
        kept: deque[T] = deque()
        for item in self._items:
            (taken if wanted(item) else kept).append(item)
        if taken:
            self._items = kept
            if not kept:
                self._restart()
        return taken

    def _restart(self) -> None:
        """Forget the taken batch's cut and linger: what waits now starts afresh."""
        self._cut.clear()
        self._lingered = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _start_linger(self) -> None:
        if self.linger_s <= 0:
            self._lingered = True
            return
        self._timer = asyncio.get_running_loop().call_later(self.linger_s, self._on_linger)

    def _on_linger(self) -> None:
        self._timer = None
        self._lingered = True
        self._check()

    def _check(self) -> None:
        if self._items and (len(self._items) >= self.size or (self._lingered and not self._storing)):
            self._cut.set()

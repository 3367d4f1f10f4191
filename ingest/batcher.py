"""Gather delivered messages into batches: up to `size` messages, waiting at most `linger_s`
after the first one, so a busy ingester writes big batches and an idle one adds little latency."""

from __future__ import annotations

import asyncio
import time
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    def __init__(self, size: int, linger_s: float) -> None:
        self.size = size
        self.linger_s = linger_s
        self._inbox: asyncio.Queue[T] = asyncio.Queue()

    def put(self, item: T) -> None:
        self._inbox.put_nowait(item)

    async def next_batch(self) -> list[T]:
        batch = [await self._inbox.get()]
        deadline = time.monotonic() + self.linger_s
        while len(batch) < self.size:
            try:
                batch.append(self._inbox.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._inbox.get(), remaining))
            except TimeoutError:
                break
        return batch

    def drain(self) -> list[T]:
        """Take everything waiting (to hand it back to the broker when pausing or stopping)."""
        items = []
        while not self._inbox.empty():
            items.append(self._inbox.get_nowait())
        return items

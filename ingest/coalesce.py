"""Concurrent single-chunk writes (HTTP `PUT`s) gathered into store batches.

Each `PUT` used to be its own store batch: three or more statements for one chunk. Here a `PUT`
that arrives while WRITES_IN_FLIGHT batches are already being stored waits for the next one, which
takes everything that waited (up to MAX_BATCH chunks). There is no timer: an idle server stores a
lone chunk at once, and a busy one forms batches as large as its load. Each chunk still gets its
own outcome (the batch call decides per chunk, in arrival order, as one after the other would);
an outage (StoreUnavailable, BusUnavailable) is every waiter's answer, and each may send again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

from logstore.chunk import Chunk
from logstore.errors import InvalidInput
from logstore.store import PutResult

WRITES_IN_FLIGHT = 4  # store batches at once
MAX_BATCH = 256  # chunks per store batch

Outcome = PutResult | InvalidInput
WriteBatch = Callable[[Sequence[Chunk], Collection[str]], Awaitable[list[Outcome]]]


@dataclass(slots=True)
class _Waiting:
    chunk: Chunk
    private: bool
    answer: asyncio.Future[Outcome]


class WriteCoalescer:
    def __init__(self, write_batch: WriteBatch) -> None:
        self._write_batch = write_batch
        self._waiting: deque[_Waiting] = deque()
        self._writers = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        """Chunks not yet taken into a batch."""
        return len(self._waiting)

    async def write(self, chunk: Chunk, private: bool = False) -> Outcome:
        """This chunk's outcome, from whichever batch stored it."""
        answer: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        answer.add_done_callback(_retrieved)  # a caller that gave up leaves no unretrieved error
        self._waiting.append(_Waiting(chunk, private, answer))
        if self._writers < WRITES_IN_FLIGHT:
            self._writers += 1
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(answer)  # a caller that gives up leaves the batch intact

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = [self._waiting.popleft() for _ in range(min(MAX_BATCH, len(self._waiting)))]
                private = {w.chunk.job_id for w in batch if w.private}
                try:
                    outcomes = await self._write_batch([w.chunk for w in batch], private)
                except BaseException as exc:  # an outage: every waiter of this batch hears it
                    for waiting in batch:
                        if not waiting.answer.done():
                            waiting.answer.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for waiting, outcome in zip(batch, outcomes, strict=True):
                    if not waiting.answer.done():
                        waiting.answer.set_result(outcome)
        finally:
            self._writers -= 1


def _retrieved(answer: asyncio.Future[Outcome]) -> None:
    if not answer.cancelled():
        answer.exception()

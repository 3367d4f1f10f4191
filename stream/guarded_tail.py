"""A viewer's tail under the job's current protection, not the protection it had at connect.

The tail's events are read ahead by a task of their own (at most QUEUED_BYTES held) and sent in
batches. Before a batch that puts bytes in front of the viewer, the job's protection is read
again by a read that started after every chunk of the batch was stored (stream/protection_watch.py,
shared by the job's viewers); while nothing arrives it is read again every IDLE_RECHECK_S. Then:

- a viewer the job no longer admits (it became private, and the viewer has no read token or
  signed URL) gets from then on what a new connection gets: the silent tail of a job not started
  yet (stream/silent_tail.py), nothing more is sent (any other refusal raises `Refused`, which
  the websocket turns into the close code a new connection would get);
- when secrets were added, the batch is dropped and the tail starts over from clock 0 masked
  with the new set (stream/masked_tail.py MaskStage), sending nothing below the viewer's next
  clock: every frame from then on is masked, and a secret that began in bytes the viewer got
  before it was registered is masked from where the viewer's bytes end.

So a chunk stored after its job was made private, or after a secret was registered, is never
sent unprotected to a viewer, however long ago that viewer connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from logstore.store import JobProtection, LogStore
from stream.access import Verdict
from stream.fanout import LiveHub
from stream.masked_tail import MaskStage, PlainStage, resume_clock
from stream.protection_watch import ProtectionWatch
from stream.silent_tail import SilentTail
from stream.tail import ChunkEvent, EndEvent, GapEvent, Tail, TailEvent

QUEUED_BYTES = 1024 * 1024  # chunk bytes read ahead per viewer, waiting for their protection read
IDLE_RECHECK_S = 10.0  # protection read again after this long without events


class Refused(Exception):
    """The job no longer admits this viewer (it became private)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.name)
        self.verdict = verdict


@dataclass(frozen=True, slots=True)
class _Item:
    event: TailEvent
    final_clock: int | None  # as the tail knew it when it gave the event
    seen_at: float


class _ReadAhead:
    """A tail run by a task of its own into a buffer bounded in bytes, taken in batches;
    `arrived(seen_at)` is called as each chunk comes in."""

    def __init__(self, tail: Tail, arrived: Callable[[float], None]) -> None:
        self._tail = tail
        self._arrived = arrived
        self._items: deque[_Item] = deque()
        self._bytes = 0
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._done = False
        self._error: Exception | None = None
        self._task = asyncio.create_task(self._run(), name=f"tail-{tail.job_id}")

    async def _run(self) -> None:
        try:
            async for event in self._tail.events():
                if isinstance(event, ChunkEvent):
                    self._items.append(_Item(event, self._tail.final_clock, event.seen_at))
                    self._bytes += len(event.data)
                    self._arrived(event.seen_at)
                else:
                    self._items.append(_Item(event, self._tail.final_clock, time.monotonic()))
                self._ready.set()
                while self._bytes > QUEUED_BYTES:
                    self._room.clear()
                    await self._room.wait()
        except Exception as exc:  # raised to the viewer once what came before it was taken
            self._error = exc
        finally:
            self._done = True
            self._ready.set()

    async def batch(self, timeout_s: float) -> list[_Item] | None:
        """All that is queued (at least one item); [] when nothing came within `timeout_s`;
        None once the tail has ended. Raises what the tail raised."""
        if not self._items and not self._done:
            self._ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout_s)
        if self._items:
            items = list(self._items)
            self._items.clear()
            self._bytes = 0
            self._room.set()
            return items
        if self._error is not None:
            raise self._error
        return None if self._done else []

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class GuardedTail:
    def __init__(
        self,
        store: LogStore,
        hub: LiveHub,
        job_id: str,
        from_clock: int,
        protection: JobProtection,
        watch: ProtectionWatch,
        verdict_of: Callable[[JobProtection], Verdict],
    ) -> None:
        self.store = store
        self.hub = hub
        self.job_id = job_id
        self.next_clock = from_clock  # the next clock the viewer needs
        self._protection = protection
        self._watch = watch
        self._verdict_of = verdict_of

    async def events(self) -> AsyncIterator[TailEvent]:
        try:
            async for event in self._guarded():
                yield event
        except Refused as refused:
            if refused.verdict is not Verdict.NOT_FOUND:
                raise
            # a private job, read without credentials, looks like a job not started yet
            async for event in SilentTail(self.store, self.hub, self.job_id).events():
                yield event  # pragma: no cover - it yields nothing

    async def _guarded(self) -> AsyncIterator[TailEvent]:
        self._watch.enter(self.job_id)
        stage, feed = await self._stage(self._protection.secrets, None)
        try:
            while True:
                items = await feed.batch(IDLE_RECHECK_S)
                if items is None:
                    return
                protection = None
                if not items:  # idle: a read at most half the interval old will do
                    protection = await self._check(time.monotonic() - IDLE_RECHECK_S / 2)
                elif any(stage.sends(item.event) for item in items):
                    protection = await self._check(max(item.seen_at for item in items))
                if protection is not None and not set(protection.secrets) <= set(stage.secrets):
                    await feed.close()  # this batch is made again, masked, by the new tail
                    stage, feed = await self._stage(protection.secrets, stage.unsent)
                    continue
                for item in items:
                    for event in await stage.events_for(item.event, item.final_clock):
                        self._advance(event)
                        yield event
                        if isinstance(event, EndEvent):
                            return
        finally:
            await feed.close()
            self._watch.leave(self.job_id)

    async def _stage(
        self, secrets: tuple[bytes, ...], unsent: int | None
    ) -> tuple[MaskStage | PlainStage, _ReadAhead]:
        if not secrets:
            return PlainStage(self.next_clock), _ReadAhead(
                Tail(self.store, self.hub, self.job_id, self.next_clock), self._prefetch
            )
        # masked frames are a function of the whole log: the tail starts at clock 0, or where the
        # masked log's index rebuilds the masker of a resuming viewer
        stage = MaskStage(secrets, self.next_clock, unsent)
        start = await resume_clock(self.store, self.job_id, stage) if unsent is None else 0
        return stage, _ReadAhead(Tail(self.store, self.hub, self.job_id, start), self._prefetch)

    def _prefetch(self, seen_at: float) -> None:
        """A chunk came in: the protection read its frame waits for starts now."""
        self._watch.prefetch(self.job_id, seen_at)

    async def _check(self, since: float) -> JobProtection:
        protection = await self._watch.read(self.job_id, since)
        verdict = self._verdict_of(protection)
        if verdict is not Verdict.ALLOWED:
            raise Refused(verdict)
        return protection

    def _advance(self, event: TailEvent) -> None:
        if isinstance(event, ChunkEvent):
            self.next_clock = max(self.next_clock, event.clock + 1)
        elif isinstance(event, GapEvent):
            self.next_clock = max(self.next_clock, event.to_clock + 1)

"""The live tail of one job for one viewer: every clock from `from_clock` on, exactly once, in
order, without gaps; then the end.

Order of work, which is what makes it exact:
1. join the job's live feed first, so nothing announced from now on can be missed;
2. replay from the store, from the next clock the viewer needs, as far as the log is contiguous;
3. follow announcements: the next clock is sent at once, later ones are held (bounded) until
   their turn, earlier ones (already sent) are ignored;
4. whenever the feed cannot fill a gap quickly (an announcement late or lost, the mailbox
   overflowed, or nothing happened for a while), go back to step 2: the store has everything.
The end event comes once the final clock has been sent.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from logstore.errors import JobNotFound
from logstore.store import LogStore
from logstore.store.archive import chunks_of
from logstore.store.archive_read import dictionary_of
from stream import metrics
from stream.fanout import LiveHub, Viewer

GAP_WAIT_S = 0.5  # how long a held out-of-order chunk waits for the missing one before a store read
IDLE_CHECK_S = (1.0, 10.0)  # store re-read interval while nothing arrives: starts low, doubles to max
HELD_BYTES = 4 * 1024 * 1024  # out-of-order chunks held per viewer; beyond that, read the store
SWITCHES = 4  # chunks -> archive -> chunks (reopened) -> archive within one store read, at most


@dataclass(frozen=True, slots=True)
class ChunkEvent:
    clock: int
    data: bytes
    stored_at: float = 0.0  # set when the chunk came live from an announcement
    # monotonic time this process knew the chunk was stored (read from the store, or announced):
    # a protection read started later saw any protection set before the chunk was stored
    seen_at: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class EndEvent:
    final_clock: int


@dataclass(frozen=True, slots=True)
class GapEvent:
    """Clocks an abandoned job never received: said out loud, never glued over."""

    from_clock: int
    to_clock: int


TailEvent = ChunkEvent | GapEvent | EndEvent


class _IdleWait:
    """How long to wait for an announcement before reading the store again: IDLE_CHECK_S[0],
    doubling while nothing comes, up to IDLE_CHECK_S[1]."""

    def __init__(self) -> None:
        self.wait_s = IDLE_CHECK_S[0]

    def longer(self) -> None:
        self.wait_s = min(self.wait_s * 2, IDLE_CHECK_S[1])

    def reset(self) -> None:
        self.wait_s = IDLE_CHECK_S[0]


class _Held:
    """Announced chunks ahead of the next clock, waiting for their turn: at most HELD_BYTES,
    and for at most GAP_WAIT_S since the gap before them opened."""

    def __init__(self) -> None:
        self._chunks: dict[int, tuple[bytes, float]] = {}  # clock -> (data, seen_at)
        self._bytes = 0
        self._since: float | None = None  # when the gap opened

    def __bool__(self) -> bool:
        return bool(self._chunks)

    def hold(self, clock: int, data: bytes, seen_at: float) -> bool:
        """Keep a chunk ahead; True when the store must fill the gap instead."""
        if clock not in self._chunks:
            self._chunks[clock] = (data, seen_at)
            self._bytes += len(data)
        self._since = self._since or time.monotonic()
        return self._bytes > HELD_BYTES or time.monotonic() - self._since > GAP_WAIT_S

    def take(self, clock: int) -> tuple[bytes, float] | None:
        """The held chunk of `clock` (data, seen_at), no longer held; None if not held."""
        due = self._chunks.pop(clock, None)
        if due is not None:
            self._bytes -= len(due[0])
        return due

    def restart_wait(self) -> None:
        """The next clock was sent: the wait for the next gap starts now (if chunks are held)."""
        self._since = time.monotonic() if self._chunks else None


class Tail:
    def __init__(self, store: LogStore, hub: LiveHub, job_id: str, from_clock: int) -> None:
        self.store = store
        self.hub = hub
        self.job_id = job_id
        self.next_clock = from_clock
        self.final_clock: int | None = None
        self._archive_vanished = False

    async def events(self) -> AsyncIterator[TailEvent]:
        """Two states, until the final clock is sent: replaying the store, then following the
        feed; the feed goes back to the store whenever it cannot fill a gap quickly."""
        viewer = await self.hub.join(self.job_id)
        try:
            idle = _IdleWait()
            while not self._ended():
                async for event in self._from_store():
                    yield event
                if not self._ended():
                    async for chunk in self._follow(viewer, idle):
                        yield chunk
            assert self.final_clock is not None
            yield EndEvent(self.final_clock)
        finally:
            await self.hub.leave(viewer)

    async def _follow(self, viewer: Viewer, idle: _IdleWait) -> AsyncIterator[ChunkEvent]:
        """Announced chunks, in order, until the end or a reason to read the store: the mailbox
        overflowed, nothing came for a while, or a chunk ahead waited too long (or too many)."""
        held = _Held()
        while not self._ended():
            announcement = await viewer.next(GAP_WAIT_S if held else idle.wait_s)
            if viewer.take_lag():
                return
            if announcement is None:
                if not held:
                    idle.longer()
                return
            idle.reset()
            if announcement.final:
                self.final_clock = announcement.clock
            if announcement.clock < self.next_clock:
                continue  # sent already (from the store, or a duplicate announcement)
            if announcement.clock > self.next_clock:
                if held.hold(announcement.clock, announcement.data, viewer.seen_at):
                    return
                continue
            yield self._send(announcement.clock, announcement.data, announcement.stored_at, viewer.seen_at)
            while (due := held.take(self.next_clock)) is not None:
                yield self._send(self.next_clock, due[0], seen_at=due[1])
            held.restart_wait()

    def _ended(self) -> bool:
        return self.final_clock is not None and self.next_clock > self.final_clock

    def _send(self, clock: int, data: bytes, stored_at: float = 0.0, seen_at: float = 0.0) -> ChunkEvent:
        self.next_clock = clock + 1
        metrics.TAIL_CHUNKS.inc()
        metrics.TAIL_BYTES.inc(len(data))
        return ChunkEvent(clock, data, stored_at, seen_at or time.monotonic())

    async def _from_store(self) -> AsyncIterator[ChunkEvent | GapEvent]:
        """Everything contiguous from `next_clock` on that the store has now: from the chunks, or
        from the archive once the job is compacted (also when that happens during this read), or
        from the chunks again when the job is reopened during it (logstore/store/reopen.py)."""
        metrics.STORE_CATCHUPS.inc()
        for _ in range(SWITCHES):
            try:
                status = await self.store.job_status(self.job_id)
            except JobNotFound:
                return  # not started yet (or deleted): its first chunk will be announced
            self.final_clock = status.final_clock
            if not status.state.archived:
                async for event in self._from_chunks():
                    yield event
                if self._ended():
                    return
                with contextlib.suppress(JobNotFound):
                    status = await self.store.job_status(self.job_id)
                if not status.state.archived:
                    return  # all there is for now: the feed brings the rest
            self._archive_vanished = False
            async for archived in self._from_archive():
                yield archived
            if not self._archive_vanished:
                return

    async def _from_chunks(self) -> AsyncIterator[ChunkEvent]:
        # The last chunk read is sent after a second look at the final clock: it may be the final
        # chunk, stored after the status was read, and readers (the masked tail) need to know a
        # frame is the last one when they get it.
        expected = self.next_clock
        last: tuple[int, bytes] | None = None
        async for clock, data in self.store.read_chunks(self.job_id, self.next_clock):
            if clock != expected:
                break
            if last is not None:
                yield self._send(*last)
            last, expected = (clock, data), clock + 1
        if last is not None:
            if self.final_clock is None:
                with contextlib.suppress(JobNotFound):
                    self.final_clock = (await self.store.job_status(self.job_id)).final_clock
            yield self._send(*last)

    async def _from_archive(self) -> AsyncIterator[ChunkEvent | GapEvent]:
        """The archive from `next_clock` on. If its segments run out before the last one (the job
        was reopened meanwhile), sets `_archive_vanished` and says no gap and no end."""
        archive = await self.store.archive_info(self.job_id)
        if archive is None:
            self._archive_vanished = True
            return
        self.final_clock = archive.final_clock  # also for a job abandoned without a final chunk
        refs = await self.store.segment_refs(self.job_id)
        dictionary = await dictionary_of(self.store, archive)
        starting = next((ref.index for ref in refs if ref.last_clock >= self.next_clock), len(refs))
        async for segment in self.store.read_segments(self.job_id, starting):
            for clock, data in chunks_of(segment, dictionary):
                if clock < self.next_clock:
                    continue
                if clock > self.next_clock:
                    yield self._gap(clock - 1)
                yield self._send(clock, data)
        if refs and self.next_clock <= refs[-1].last_clock:
            self._archive_vanished = True  # _from_store reads the job's state and final clock again
            return
        if self.next_clock <= archive.final_clock:  # the hole reaches the final clock
            yield self._gap(archive.final_clock)

    def _gap(self, to_clock: int) -> GapEvent:
        gap = GapEvent(self.next_clock, to_clock)
        self.next_clock = to_clock + 1
        return gap

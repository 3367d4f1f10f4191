"""The live tail of a job with secrets: the same frames, carrying the masked log.

A chunk's frame carries the masked bytes released so far (8-byte clock + bytes, as always), so
the concatenation of the frames is the masked log: bytes a secret may still start in are held
back (at most longest secret - 1) and go out with the next frame; the final chunk's frame flushes
everything. At a hole of an abandoned job the held bytes are flushed into a frame numbered with
the first missing clock, sent just before the gap message.

Frames are a function of the log, not of where a viewer starts: the masker is always fed the log
from clock 0, in clock order, and the frame of clock K is made only once every clock below K has
been fed (or is a hole for good). A tail asked for `from_clock = K` therefore follows the log
from clock 0, sends nothing below K and waits, like any tail, for clocks below K that are not
stored yet: its frames are exactly those an unbroken connection from clock 0 sends from K on.

`MaskStage` is that computation, event by event; it also takes over a viewer that has already
received the frames below K under other rules (no secrets, or fewer), see `unsent`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from logstore.errors import JobNotFound
from logstore.store import LogStore
from stream.download import open_view
from stream.masked_index import index_of, masker_at
from stream.masking import MASK, Masker
from stream.masking_lane import feed
from stream.tail import ChunkEvent, EndEvent, GapEvent, Tail, TailEvent


def _common_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class PlainStage:
    """A job without secrets: events pass unchanged."""

    secrets: tuple[bytes, ...] = ()
    unsent: int | None = 0  # the viewer has every raw byte below the next clock

    def __init__(self, emit_from: int) -> None:
        self.emit_from = emit_from

    def sends(self, event: TailEvent) -> bool:
        return True

    async def events_for(self, event: TailEvent, final_clock: int | None) -> list[TailEvent]:
        return [event]


class MaskStage:
    """Turns a tail's events from clock 0 on into the masked events a viewer gets from clock
    `emit_from` on.

    `unsent=None`: the viewer resumes, it has what an unbroken masked tail sent below
    `emit_from`. `unsent=n`: the viewer has every byte of the raw log below `emit_from` but its
    last n (sent under other rules: unmasked, or masked with fewer secrets; n are the bytes the
    previous masker still held). The masker is then fed the raw log up to where the viewer's
    bytes end; what it releases from there on goes out, except the bytes it held that the viewer
    already has: those are dropped for as long as the masked output repeats them byte for byte.
    Where it stops repeating them a secret began in bytes already sent (before it was known);
    from there on everything is the masked log.
    """

    def __init__(self, secrets: Sequence[bytes], emit_from: int, unsent: int | None = None) -> None:
        self.secrets = tuple(secrets)
        self.emit_from = emit_from
        self._masker = Masker(secrets)
        self._keep = max((len(s) for s in secrets), default=1)
        self._given_unsent = unsent
        self._started = False  # bytes from emit_from on have been made
        self._aligning = unsent is not None
        self._unsent = unsent or 0
        self._deferred = b""  # raw bytes not fed yet: the last `unsent` seen below emit_from
        self._recent = b""  # the last raw bytes fed (at most the longest secret's length)
        self._skip = b""  # raw bytes the masker holds that the viewer already has
        self._raw = b""  # while there are: the raw bytes fed from the first of them on
        self._owed = b""  # released, not sent yet: goes out with the first event from emit_from

    @property
    def unsent(self) -> int | None:
        """For a stage taking over from this one at its next clock: raw bytes fed that the viewer
        does not have yet (in any form); None while it is still a resume that has sent nothing."""
        if not self._started:
            return self._given_unsent
        return max(0, self._masker.held - len(self._skip))

    def resume_with(self, masker: Masker) -> None:
        """The tail starts at emit_from: `masker` has been fed every clock below it."""
        self._masker = masker

    def sends(self, event: TailEvent) -> bool:
        """Whether this event may put bytes in front of the viewer."""
        if isinstance(event, ChunkEvent):
            return event.clock >= self.emit_from
        if isinstance(event, GapEvent):
            return event.to_clock >= self.emit_from
        return True

    async def events_for(self, event: TailEvent, final_clock: int | None) -> list[TailEvent]:
        """The viewer's events for one event of the tail (`final_clock` as the tail knew it). A
        big chunk is masked in the masking thread (stream/masking_lane.py)."""
        if isinstance(event, ChunkEvent):
            if event.clock < self.emit_from:
                await self._feed_before(event.data)
                if event.clock == final_clock:
                    await self._flush_before()
                return []
            out = await self._start() + self._release(await self._feed(event.data))
            if event.clock == final_clock:
                out += self._release(self._masker.flush())
            return [ChunkEvent(event.clock, out, event.stored_at, event.seen_at)]
        if isinstance(event, GapEvent):
            if event.from_clock < self.emit_from:
                await self._flush_before()
                if event.to_clock < self.emit_from:
                    return []
                owed = await self._start()
                held = [ChunkEvent(self.emit_from, owed)] if owed else []
                return [*held, GapEvent(self.emit_from, event.to_clock)]
            rest = await self._start() + self._release(self._masker.flush())
            return [*([ChunkEvent(event.from_clock, rest)] if rest else []), event]
        assert isinstance(event, EndEvent)
        # Normally nothing is held here: the final frame flushed it. Only when the store showed
        # the final chunk before saying it was final (Cassandra writes the job row last) does a
        # rest remain: it goes out in a trailer frame numbered final_clock + 1.
        rest = await self._start() + self._release(self._masker.flush())
        trailer = event.final_clock + 1
        return [*([ChunkEvent(trailer, rest)] if rest and trailer >= self.emit_from else []), event]

    async def _feed(self, data: bytes) -> bytes:
        if self._aligning:
            self._recent = (self._recent + data)[-self._keep :]
        elif self._skip:
            self._raw += data
        return await feed(self._masker, data)

    async def _feed_before(self, data: bytes) -> None:
        """A chunk below emit_from: the viewer has its bytes, except (aligning) the last `unsent`."""
        if not self._aligning:
            await feed(self._masker, data)
            return
        self._deferred += data
        cut = len(self._deferred) - self._unsent
        if cut > 0:
            await self._feed(self._deferred[:cut])
            self._deferred = self._deferred[cut:]

    async def _flush_before(self) -> None:
        """A hole or the end below emit_from: the viewer got everything up to it."""
        if self._aligning:
            await self._feed(self._deferred)
            self._deferred = self._recent = b""
        self._masker.flush()

    async def _start(self) -> bytes:
        """Before the first bytes from emit_from: when taking over a viewer, feed the bytes it
        lacks; the masked bytes owed so far."""
        self._started = True
        if self._aligning:
            self._aligning = False
            held = min(self._masker.held, len(self._recent))
            self._skip = self._raw = self._recent[len(self._recent) - held :] if held else b""
            deferred, self._deferred = self._deferred, b""
            self._owed += self._release(await self._feed(deferred))
        owed, self._owed = self._owed, b""
        return owed

    def _release(self, out: bytes) -> bytes:
        """What of the masker's output goes out: not the held bytes the viewer already has (kept
        bytes that repeat them, and masks of secrets that lie wholly within them)."""
        while self._skip:
            same = _common_prefix(out, self._skip)
            if same == len(out):
                self._skip, self._raw = self._skip[same:], self._raw[same:]
                return b""
            if same < len(self._skip) and out.startswith(MASK, same):
                # leftmost-longest: the mask stands for the longest secret starting here
                length = max((len(s) for s in self.secrets if self._raw.startswith(s, same)), default=0)
                if 0 < length <= len(self._skip) - same:  # all of it was sent before: not again
                    out = out[same + len(MASK) :]
                    self._skip, self._raw = self._skip[same + length :], self._raw[same + length :]
                    continue
            self._skip = self._raw = b""  # from here on the viewer has none of it
            return out[same:]
        return out


class MaskedTail:
    """The masked tail of `tail` from its `next_clock` on: the tail is made to start at clock 0
    (MaskStage sends nothing below the clock asked for)."""

    def __init__(self, tail: Tail, secrets: Sequence[bytes], unsent: int | None = None) -> None:
        self.tail = tail
        self.job_id = tail.job_id
        self.stage = MaskStage(secrets, tail.next_clock, unsent)
        self._resuming = unsent is None and bool(self.stage.secrets) and tail.next_clock > 0
        tail.next_clock = 0

    async def events(self) -> AsyncIterator[TailEvent]:
        if self._resuming:
            self.tail.next_clock = await resume_clock(self.tail.store, self.job_id, self.stage)
        async for event in self.tail.events():
            for masked in await self.stage.events_for(event, self.tail.final_clock):
                yield masked


async def resume_clock(store: LogStore, job_id: str, stage: MaskStage) -> int:
    """Where the tail of a viewer resuming at clock K (`stage` made with unsent=None) starts.
    Instead of following clocks 0..K-1, it starts at K with the stage's masker rebuilt from the
    masked log's index (the same state, stream/masked_index.py), so a reconnect costs its own
    bytes, not the log's. Only when every clock below K is stored, and K is not past the final
    clock (then the unbroken tail flushed at the final frame, below K); else at clock 0."""
    clock = stage.emit_from
    if clock <= 0 or not stage.secrets:
        return 0
    try:
        view = await open_view(store, job_id)
        final_clock = (await store.job_status(job_id)).final_clock
    except JobNotFound:
        return 0
    if clock > len(view.starts) or (final_clock is not None and clock > final_clock):
        return 0
    index = await index_of(store, view, stage.secrets, clock)
    stage.resume_with(await masker_at(store, view, index, clock))
    return clock

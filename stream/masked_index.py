"""An index of the masked log, so that a masked read costs the bytes it returns, not the log.

Masking cannot start anywhere: leftmost-longest matches chain (with the secret `aa`, the masked
`aaaaa...` depends on the parity of where its run starts), so the masked bytes at raw offset B
depend on everything before B. What they depend on is only where the scan of the whole log
stands: a position the scan visits (no match covers it). From such a position P, with P mapped
to masked offset M, a fresh `Masker` fed the raw log from P releases exactly the masked log from
M on, and after feeding it up to R (P <= R - longest secret + 1) it is in the state of a masker
fed the log from byte 0 up to R.

The index keeps such (P, M) pairs every CHECKPOINT_BYTES of the raw log: `Masker.released_raw`
and `Masker.released` after a feed are one. It is computed once per log and secret set, by one
pass over the log that also keeps the masked log's length and sha256 (the ETag), and extended as
a running log grows (what a masker released never changes). A read then starts at the nearest
checkpoint: CHECKPOINT_BYTES + longest secret + the bytes asked for. The indexes live in the
memory of the process (CACHED_LOGS of them, least recently used first out), keyed by the job and
its secrets and checked against what identifies the raw bytes they were computed from: the
archive's sha256, or the size and store time of every chunk (a job deleted and written again
under the same id has other store times).

Masking runs in steps of STEP_BYTES in the process's masking thread (stream/masking_lane.py),
so no request holds the event loop, whatever the log and however many masked reads run at once.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import math
from array import array
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from logstore.store import LogStore
from stream.download import LogView, read_bytes
from stream.masking import Masker
from stream.masking_lane import STEP_BYTES, feed, in_lane

CHECKPOINT_BYTES = 64 * 1024  # raw bytes between checkpoints
CACHED_LOGS = 256


def is_final(view: LogView) -> bool:
    """Nothing will ever be appended to this view's bytes: the job is complete, or archived (an
    abandoned log ends at its first hole for good)."""
    return view.complete or view.archive is not None


@dataclass
class MaskIndex:
    secrets: tuple[bytes, ...]
    masker: Masker  # fed the raw log from byte 0 up to masker.fed
    clocks: int = 0  # whole clocks fed
    raw: list[int] = field(default_factory=lambda: [0])  # checkpoints: visited scan positions
    masked: list[int] = field(default_factory=lambda: [0])  # their masked offsets
    digest: Any = field(default_factory=hashlib.sha256)  # of the bytes masker released
    identity: Any = field(default_factory=hashlib.sha256)  # of the clocks fed (see _identity)
    archive: str | None = None  # the archive's sha256, for an index of an archived log
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def longest(self) -> int:
        return max((len(s) for s in self.secrets), default=0)

    def length(self, view: LogView) -> int:
        """Length of the view's masked log (the index covers the view)."""
        held = len(self.masker.peek_flush()) if is_final(view) else 0
        return self.masker.released + held

    def sha256(self, view: LogView) -> str:
        digest = self.digest.copy()
        if is_final(view):
            digest.update(self.masker.peek_flush())
        hexdigest: str = digest.hexdigest()
        return hexdigest

    def checkpoint_at_masked(self, offset: int) -> tuple[int, int]:
        """The last checkpoint (raw, masked) at or before masked `offset`."""
        k = bisect.bisect_right(self.masked, offset) - 1
        return self.raw[k], self.masked[k]

    def checkpoint_before_raw(self, offset: int) -> tuple[int, int]:
        """The last checkpoint from which a masker fed up to raw `offset` has its true state."""
        k = bisect.bisect_right(self.raw, max(0, offset - max(self.longest, 1) + 1)) - 1
        return self.raw[k], self.masked[k]

    def _feed(self, piece: bytes) -> None:
        """Mask a piece of the log (in the masking thread), keeping checkpoints and digest."""
        for at in range(0, len(piece), STEP_BYTES):
            self.digest.update(self.masker.feed(piece[at : at + STEP_BYTES]))
            if self.masker.released_raw - self.raw[-1] >= CHECKPOINT_BYTES:
                self.raw.append(self.masker.released_raw)
                self.masked.append(self.masker.released)

    async def extend(
        self, store: LogStore, view: LogView, clocks: int, sizes: Sequence[int], times: Sequence[float | None]
    ) -> None:
        """Feed the view's clocks below `clocks` that are not fed yet (`sizes` and `times` of
        each of its clocks)."""
        if clocks <= self.clocks:
            return
        end = view.starts[clocks] if clocks < len(view.starts) else view.length
        if end > self.masker.fed:
            async for piece in read_bytes(store, view, self.masker.fed, end - 1):
                await in_lane(self._feed, piece)
        self.identity.update(_identity(sizes[self.clocks : clocks], times[self.clocks : clocks]))
        self.clocks = clocks


def _identity(sizes: Sequence[int], times: Sequence[float | None]) -> bytes:
    return array("q", sizes).tobytes() + array("d", [math.nan if t is None else t for t in times]).tobytes()


def _sizes(view: LogView) -> list[int]:
    ends = [*view.starts[1:], view.length]
    return [end - start for start, end in zip(view.starts, ends, strict=True)]


_CACHE: OrderedDict[tuple[int, str, tuple[bytes, ...]], MaskIndex] = OrderedDict()


async def index_of(
    store: LogStore, view: LogView, secrets: Sequence[bytes], clocks: int | None = None
) -> MaskIndex:
    """The index of the view's masked log, covering its clocks below `clocks` (all by default)."""
    wanted = len(view.starts) if clocks is None else min(clocks, len(view.starts))
    distinct = tuple(sorted(set(secrets)))
    key = (id(store), view.job_id, distinct)
    sizes = _sizes(view)
    times: list[float | None] = [None] * len(view.starts)
    if view.archive is None:
        stored = dict(await store.chunk_times(view.job_id))
        times = [stored.get(clock) for clock in range(len(view.starts))]
    index = _CACHE.get(key)
    if index is not None and not _same_log(index, view, sizes, times):
        index = None
    if index is None:
        index = MaskIndex(distinct, Masker(distinct))
        index.archive = view.archive.sha256 if view.archive is not None else None
        _CACHE[key] = index
        while len(_CACHE) > CACHED_LOGS:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    async with index.lock:
        try:
            await index.extend(store, view, wanted, sizes, times)
        except BaseException:
            if _CACHE.get(key) is index:  # fed part of the way: of no use to anyone
                del _CACHE[key]
            raise
    return index


def _same_log(index: MaskIndex, view: LogView, sizes: Sequence[int], times: Sequence[float | None]) -> bool:
    """Whether the index was computed from these raw bytes (as far as it goes)."""
    if view.archive is not None or index.archive is not None:
        return view.archive is not None and index.archive == view.archive.sha256
    if index.clocks > len(sizes):
        return False
    identity = hashlib.sha256(_identity(sizes[: index.clocks], times[: index.clocks]))
    return bool(identity.digest() == index.identity.copy().digest())


async def masked_slice(
    store: LogStore,
    view: LogView,
    index: MaskIndex,
    first: int,
    last: int | None = None,
    ahead: int = 0,
) -> AsyncIterator[bytes]:
    """Bytes first..last (inclusive; to the end of the masked log by default) of the view's
    masked log, read and masked from the nearest checkpoint on."""
    length = index.length(view)
    last = length - 1 if last is None else min(last, length - 1)
    if last < first:
        return
    raw, offset = index.checkpoint_at_masked(first)
    masker = Masker(index.secrets)
    pieces = read_bytes(store, view, raw, view.length - 1, ahead) if raw < view.length else _nothing()
    try:
        async for piece in pieces:
            for at in range(0, len(piece), STEP_BYTES):
                out = await feed(masker, piece[at : at + STEP_BYTES])
                end = offset + len(out)
                if end > first:
                    yield out[max(0, first - offset) : last - offset + 1]
                offset = end
                if offset > last:
                    return
        if is_final(view):
            out = masker.flush()
            if offset + len(out) > first:
                yield out[max(0, first - offset) : last - offset + 1]
    finally:
        await pieces.aclose()  # type: ignore[attr-defined]


async def masker_at(store: LogStore, view: LogView, index: MaskIndex, clock: int) -> Masker:
    """A masker in the state of one fed the view's log from clock 0 up to `clock` (stored, and
    covered by the index): fed from the nearest checkpoint far enough before it."""
    end = view.starts[clock] if clock < len(view.starts) else view.length
    raw, masked = index.checkpoint_before_raw(end)
    masker = Masker(index.secrets)
    if end > raw:
        async for piece in read_bytes(store, view, raw, end - 1):
            await feed(masker, piece)
    masker.fed, masker.released = end, masked + masker.released
    return masker


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover

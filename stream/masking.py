"""Secret masking: every occurrence of a registered secret value shows as `***`.

The masked log is defined over the log as assembled in clock order: scanning from the start, at
each position the longest secret that starts there is replaced by `***` and the scan continues
after it; where none starts, the byte is kept. `mask` computes it in one go; `Masker` computes
the same bytes from the log fed piece by piece (chunks in clock order), releasing each byte as
soon as no secret can still start at or before it. It holds back at most (longest secret - 1)
bytes, so a secret split across chunks is masked, and what it has released never changes when
more of the log arrives: the released output of a prefix is a prefix of the masked log.

The matcher is an Aho-Corasick automaton of the secrets (the Rust `aho-corasick` crate through
`ahocorasick-rs`) in its leftmost-longest mode, which is this definition: time linear in the bytes
scanned whatever the secrets, 5 to 10 times Python's `re` alternation with 100 secrets
(docs/performance-history.md, 2026-12-07). The automaton lets go of the GIL while it scans:
callers on the event loop hand pieces to the masking thread (stream/masking_lane.py).

Where the scan stands after the bytes released so far (`released_raw`) is a position the scan
of the whole log visits: masking the rest of the log from there, with a fresh `Masker`, gives
exactly the rest of the masked log. stream/masked_index.py keeps such positions as checkpoints.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import ahocorasick_rs

MASK = b"***"


@functools.lru_cache(maxsize=256)
def _automaton(secrets: tuple[bytes, ...]) -> ahocorasick_rs.BytesAhoCorasick:
    return ahocorasick_rs.BytesAhoCorasick(list(secrets), matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)


def _distinct(secrets: Iterable[bytes]) -> tuple[bytes, ...]:
    return tuple(sorted({bytes(s) for s in secrets if s}))


def _masked(automaton: ahocorasick_rs.BytesAhoCorasick, data: bytes) -> bytes:
    out: list[bytes] = []
    position = 0
    for _, start, end in automaton.find_matches_as_indexes(data):
        out += (data[position:start], MASK)
        position = end
    if not out:
        return data
    out.append(data[position:])
    return b"".join(out)


def mask(data: bytes, secrets: Iterable[bytes]) -> bytes:
    """The whole log, masked (the reference every read path agrees with)."""
    distinct = _distinct(secrets)
    return _masked(_automaton(distinct), data) if distinct else data


class Masker:
    """Masks a log fed in order, piece by piece. `feed` returns the bytes released so far;
    `flush` (at the end of the log) returns the rest."""

    def __init__(self, secrets: Iterable[bytes]) -> None:
        distinct = _distinct(secrets)
        self._automaton = _automaton(distinct) if distinct else None
        self._longest = max((len(s) for s in distinct), default=0)
        self._pending = b""
        self.fed = 0  # bytes fed so far
        self.released = 0  # bytes released so far (of the masked log)

    @property
    def active(self) -> bool:
        return self._automaton is not None

    @property
    def held(self) -> int:
        """Bytes fed but not released yet."""
        return len(self._pending)

    @property
    def released_raw(self) -> int:
        """How many bytes of the log the released bytes stand for: where the scan stands."""
        return self.fed - len(self._pending)

    def feed(self, data: bytes) -> bytes:
        self.fed += len(data)
        if self._automaton is None:
            self.released += len(data)
            return data
        pending = self._pending + data if self._pending else data
        # A match can be decided at position p once the longest secret fits: p + longest <= len.
        decided = len(pending) - self._longest + 1
        out: list[bytes] = []
        position = 0
        if decided > 0:
            for _, start, end in self._automaton.find_matches_as_indexes(pending):
                if start >= decided:
                    break
                out += (pending[position:start], MASK)
                position = end
            if position < decided:
                out.append(pending[position:decided])
                position = decided
        self._pending = pending[position:]
        released = b"".join(out)
        self.released += len(released)
        return released

    def flush(self) -> bytes:
        """Release everything held: the log ends here (or at a hole it will never fill)."""
        pending, self._pending = self._pending, b""
        rest = pending if self._automaton is None else _masked(self._automaton, pending)
        self.released += len(rest)
        return rest

    def peek_flush(self) -> bytes:
        """What `flush` would release now, leaving the masker as it is."""
        return self._pending if self._automaton is None else _masked(self._automaton, self._pending)

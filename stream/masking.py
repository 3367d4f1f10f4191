"""Secret masking: every occurrence of a registered secret value shows as `***`.

The masked log is defined over the log as assembled in clock order: scanning from the start, at
each position the longest secret that starts there is replaced by `***` and the scan continues
after it; where none starts, the byte is kept. `mask` computes it in one go; `Masker` computes
the same bytes from the log fed piece by piece (chunks in clock order), releasing each byte as
soon as no secret can still start at or before it. It holds back at most (longest secret - 1)
bytes, so a secret split across chunks is masked, and what it has released never changes when
more of the log arrives: the released output of a prefix is a prefix of the masked log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = b"***"


def _pattern(secrets: Iterable[bytes]) -> re.Pattern[bytes] | None:
    # Alternatives longest first: at a position, `re` takes the first alternative that matches,
    # which is then the longest secret starting there (leftmost-longest, like the definition).
    ordered = sorted({s for s in secrets if s}, key=lambda s: (-len(s), s))
    return re.compile(b"|".join(re.escape(s) for s in ordered)) if ordered else None


def mask(data: bytes, secrets: Iterable[bytes]) -> bytes:
    """The whole log, masked (the reference every read path agrees with)."""
    pattern = _pattern(secrets)
    return data if pattern is None else pattern.sub(MASK, data)


class Masker:
    """Masks a log fed in order, piece by piece. `feed` returns the bytes released so far;
    `flush` (at the end of the log) returns the rest."""

    def __init__(self, secrets: Iterable[bytes]) -> None:
        wanted = [s for s in secrets if s]
        self._pattern = _pattern(wanted)
        self._longest = max((len(s) for s in wanted), default=0)
        self._pending = b""

    @property
    def active(self) -> bool:
        return self._pattern is not None

    @property
    def held(self) -> int:
        """Bytes fed but not released yet."""
        return len(self._pending)

    def feed(self, data: bytes) -> bytes:
        if self._pattern is None:
            return data
        pending = self._pending + data
        # A match can be decided at position p once the longest secret fits: p + longest <= len.
        decided = len(pending) - self._longest + 1
        out: list[bytes] = []
        position = 0
        for match in self._pattern.finditer(pending):
            if match.start() >= decided:
                break
            out += (pending[position : match.start()], MASK)
            position = match.end()
        if position < decided:
            out.append(pending[position:decided])
            position = decided
        self._pending = pending[position:]
        return b"".join(out)

    def flush(self) -> bytes:
        """Release everything held: the log ends here (or at a hole it will never fill)."""
        pending, self._pending = self._pending, b""
        return pending if self._pattern is None else self._pattern.sub(MASK, pending)

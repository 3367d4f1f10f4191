"""The masked-reads benchmark's log, secrets and the answers expected of the streamer, computed
the same way in the bench process and in the load process (benchmarks/steps/masked_load.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cached_property

from benchmarks.harness.corpus import split
from benchmarks.steps.search import build_log
from stream.masking import Masker, mask

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
CHUNK_BYTES = 1024 * 1024


def secrets_for(log: bytes, count: int) -> list[bytes]:
    """`count` secrets of 8-40 bytes: one in ten a piece of the log (so it occurs, often: some are
    common strings of CI logs), the others random tokens."""
    rng = random.Random(count)
    out: list[bytes] = []
    for i in range(count):
        if i % 10 == 0:
            at = rng.randrange(len(log) - 40)
            out.append(log[at : at + rng.randint(8, 40)])
        else:
            out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(8, 40))).encode())
    return out


@dataclass(frozen=True)
class MaskedLog:
    size: int
    secret_count: int

    @cached_property
    def raw(self) -> bytes:
        return build_log(self.size)

    @cached_property
    def pieces(self) -> list[bytes]:
        return split(self.raw, CHUNK_BYTES)

    @cached_property
    def secrets(self) -> list[bytes]:
        return secrets_for(self.raw, self.secret_count)

    @cached_property
    def masked(self) -> bytes:
        return mask(self.raw, self.secrets)

    @property
    def reconnect_clock(self) -> int:
        """Where a reconnecting viewer resumes: 10 clocks from the end (1 on a short log)."""
        return max(1, len(self.pieces) - 10)

    def middle(self) -> tuple[int, int]:
        """A 1 MiB range in the middle of the masked log (first, last)."""
        first = max(0, len(self.masked) // 2 - CHUNK_BYTES // 2)
        return first, min(len(self.masked), first + CHUNK_BYTES) - 1

    def frame(self, clock: int) -> bytes:
        """The masked frame of `clock` (an unbroken tail's: the masker fed every clock before)."""
        masker = Masker(self.secrets)
        for piece in self.pieces[:clock]:
            masker.feed(piece)
        out = masker.feed(self.pieces[clock])
        return out + masker.flush() if clock == len(self.pieces) - 1 else out

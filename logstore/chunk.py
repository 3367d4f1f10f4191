"""The chunk: one numbered piece of a job's log, and the rules every entry point validates it by.

A chunk is identified by `(job_id, clock)`. The clock is the sender's per-job sequence number
(0, 1, 2, ... without gaps); the order of a log lives in the clocks, never in delivery order.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from logstore.errors import ChunkTooLarge, InvalidClock, InvalidJobId

MAX_CLOCK = 2**63 - 1
MAX_JOB_ID_LENGTH = 128
_JOB_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def validate_job_id(job_id: object) -> str:
    """Return `job_id` if it is 1-128 characters of [A-Za-z0-9._-]; raise InvalidJobId otherwise.

    "." and ".." alone are refused as well: an id must never read as a path step.
    """
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id) or job_id in (".", ".."):
        shown = repr(job_id)[:60]
        raise InvalidJobId(
            f"job id {shown} is invalid: use 1-{MAX_JOB_ID_LENGTH} characters of A-Z a-z 0-9 . _ -"
        )
    return job_id


def parse_clock(raw: object) -> int:
    """Parse a clock from an int or a decimal string (no sign, no spaces); raise InvalidClock."""
    if isinstance(raw, bool):
        raise InvalidClock(f"clock {raw!r} is not an integer")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, (str, bytes)):
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
        if not text.isascii() or not text.isdigit() or len(text) > 19:
            raise InvalidClock(f"clock {text[:40]!r} is not an integer in 0..{MAX_CLOCK}")
        value = int(text)
    else:
        raise InvalidClock(f"clock {raw!r} is not an integer")
    if not 0 <= value <= MAX_CLOCK:
        raise InvalidClock(f"clock {value} is outside 0..{MAX_CLOCK}")
    return value


def check_chunk_size(size: int, max_chunk_bytes: int) -> None:
    if size > max_chunk_bytes:
        raise ChunkTooLarge(f"chunk of {size} bytes is over the limit of {max_chunk_bytes} bytes")


def digest(data: bytes) -> bytes:
    """A 16-byte fingerprint of a chunk's bytes, stored beside them to recognise duplicates."""
    return hashlib.blake2b(data, digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class Chunk:
    """A validated chunk. Build it with `Chunk.create` so the id and clock are checked."""

    job_id: str
    clock: int
    data: bytes
    final: bool = False
    digest: bytes = field(default=b"", compare=False)

    @classmethod
    def create(cls, job_id: object, clock: object, data: bytes, final: bool = False) -> Chunk:
        jid = validate_job_id(job_id)
        clk = parse_clock(clock)
        return cls(jid, clk, bytes(data), final, digest(data))

    @property
    def size(self) -> int:
        return len(self.data)

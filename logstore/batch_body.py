"""The body of `POST /v1/chunks`: several chunks of several jobs, length-prefixed, in one request.

Each entry, back to back, integers big-endian:

    u8  flags         bit 0: final (the job's last chunk), bit 1: private; other bits must be 0
    u8  id length     N, then N bytes of job id (ASCII)
    u64 clock
    u32 data length   L, then L bytes of chunk data, stored as sent

Length-prefixed rather than multipart: the server finds each chunk's bytes without scanning them
for a boundary, and a client writes the body without choosing one. The frame itself must be
whole (every length within the body, no unknown flag bits, at least one entry, at most
MAX_ENTRIES), or the whole request is refused with `invalid_batch` and nothing is stored. What is
inside an entry (id, clock, size) is checked per chunk, with the same rules as a single PUT.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from logstore.errors import InvalidBatch

MEDIA_TYPE = "application/vnd.logstore.chunks"
MAX_ENTRIES = 1000
FINAL, PRIVATE = 0x01, 0x02
_HEAD = struct.Struct(">BB")
_CLOCK_LENGTH = struct.Struct(">QI")


@dataclass(frozen=True)
class Entry:
    """One entry as framed: the id and clock are not validated yet (see Chunk.create)."""

    job_id: str
    clock: int
    data: bytes
    final: bool
    private: bool


def encode_batch(entries: list[Entry]) -> bytes:
    parts: list[bytes] = []
    for entry in entries:
        job_id = entry.job_id.encode()
        flags = (FINAL if entry.final else 0) | (PRIVATE if entry.private else 0)
        parts += [_HEAD.pack(flags, len(job_id)), job_id, _CLOCK_LENGTH.pack(entry.clock, len(entry.data))]
        parts.append(entry.data)
    return b"".join(parts)


def decode_batch(body: bytes) -> list[Entry]:
    """The entries of a body; raise InvalidBatch if the frame is not whole."""
    entries: list[Entry] = []
    view = memoryview(body)
    offset = 0
    while offset < len(body):
        if len(entries) == MAX_ENTRIES:
            raise InvalidBatch(f"more than {MAX_ENTRIES} chunks in one request")
        if offset + _HEAD.size > len(body):
            raise InvalidBatch(f"entry {len(entries)} is cut short at byte {offset}")
        flags, id_length = _HEAD.unpack_from(body, offset)
        if flags & ~(FINAL | PRIVATE):
            raise InvalidBatch(f"entry {len(entries)} has unknown flag bits {flags:#04x}")
        offset += _HEAD.size
        if offset + id_length + _CLOCK_LENGTH.size > len(body):
            raise InvalidBatch(f"entry {len(entries)} is cut short at byte {offset}")
        job_id = bytes(view[offset : offset + id_length]).decode("ascii", "replace")
        offset += id_length
        clock, data_length = _CLOCK_LENGTH.unpack_from(body, offset)
        offset += _CLOCK_LENGTH.size
        if offset + data_length > len(body):
            raise InvalidBatch(f"entry {len(entries)} declares {data_length} bytes, the body ends before")
        data = bytes(view[offset : offset + data_length])
        offset += data_length
        entries.append(Entry(job_id, clock, data, bool(flags & FINAL), bool(flags & PRIVATE)))
    if not entries:
        raise InvalidBatch("the body holds no chunk")
    return entries

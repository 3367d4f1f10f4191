"""The tail's binary frame (`WS /v1/jobs/{id}/tail`): an 8-byte big-endian clock, then the
chunk's bytes (masked, for a job with secrets). Written by the streamer, read by `logstore tail`,
the viewer's JavaScript (stream/static) and the tests' viewers."""

from __future__ import annotations

import struct

CLOCK = struct.Struct(">Q")


def frame(clock: int, data: bytes) -> bytes:
    return CLOCK.pack(clock) + data


def unframe(message: bytes) -> tuple[int, bytes]:
    """(clock, data) of a frame; struct.error if it is shorter than the clock."""
    (clock,) = CLOCK.unpack_from(message)
    return clock, message[CLOCK.size :]

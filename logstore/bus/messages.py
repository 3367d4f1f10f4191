"""The chunk message contract on AMQP: body = raw chunk bytes; headers `job_id` (str),
`clock` (int), `final` (bool), optional `sent_at` (float, unix seconds) or `sent_at_us` (int, unix
microseconds; preferred when both are there: aio-pika/pamqp encode a Python float as a 32-bit float,
which at today's unix time is only good to about a minute) and `private` (bool: mark
the job private before storing the chunk). Encoded by the
publisher, decoded by the ingester; a message that breaks it raises MalformedMessage."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from logstore.bus.tolerant_frames import UNDECODABLE_HEADER
from logstore.errors import MalformedMessage

REASON_HEADER = "x-logstore-reason"
ERROR_HEADER = "x-logstore-error"
ORIGINAL_HEADERS_HEADER = "x-logstore-original-headers"  # JSON text (ingest/original_headers.py)


@dataclass(frozen=True, slots=True)
class ChunkMessage:
    job_id: object  # validated later, with the same rules as HTTP
    clock: object
    final: bool
    sent_at: float | None
    private: bool = False


def chunk_headers(
    job_id: str, clock: int, final: bool, sent_at: float | None = None, private: bool = False
) -> dict[str, Any]:
    sent = sent_at or time.time()
    headers = {
        "job_id": job_id,
        "clock": clock,
        "final": final,
        "sent_at": sent,  # kept for readers of the old header; imprecise through pamqp (see above)
        "sent_at_us": round(sent * 1_000_000),
    }
    return {**headers, "private": True} if private else headers


def decode_headers(headers: dict[str, Any] | None) -> ChunkMessage:
    """Check the contract's headers by exact type: every AMQP field type another client may send
    (signed or unsigned integers of any width, floats, decimals, timestamps, byte arrays, tables,
    arrays, void) either fits or raises MalformedMessage; other headers are ignored."""
    if not headers:
        raise MalformedMessage("message has no headers: job_id and clock are required")
    if UNDECODABLE_HEADER in headers:
        raise MalformedMessage(f"message properties could not be decoded: {headers[UNDECODABLE_HEADER]}")
    job_id = headers.get("job_id")
    if isinstance(job_id, bytes | bytearray):  # a byte array ('x') or a long string that is not UTF-8
        try:
            job_id = bytes(job_id).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage("header job_id is not UTF-8") from exc
    if type(job_id) is not str:
        raise MalformedMessage(f"header job_id must be a string, got {_kind(job_id)}")
    if "clock" not in headers:
        raise MalformedMessage("header clock is missing")
    clock = headers["clock"]
    if type(clock) is not int:  # not a bool, nor a timestamp kept as its number
        raise MalformedMessage(f"header clock must be an integer, got {_kind(clock)}")
    final = headers.get("final", False)
    if type(final) is not bool:
        raise MalformedMessage(f"header final must be a boolean, got {_kind(final)}")
    sent_at = headers.get("sent_at")
    if sent_at is not None and (type(sent_at) not in (int, float) or not math.isfinite(sent_at)):
        raise MalformedMessage("header sent_at must be a number (unix seconds)")
    sent_at_us = headers.get("sent_at_us")
    if sent_at_us is not None:
        if type(sent_at_us) is not int:
            raise MalformedMessage("header sent_at_us must be an integer (unix microseconds)")
        sent_at = sent_at_us / 1_000_000
    private = headers.get("private", False)
    if type(private) is not bool:
        raise MalformedMessage(f"header private must be a boolean, got {_kind(private)}")
    return ChunkMessage(job_id, clock, final, float(sent_at) if sent_at is not None else None, private)


def _kind(value: object) -> str:
    return "nothing (void)" if value is None else type(value).__name__

"""The chunk message contract on AMQP: body = raw chunk bytes; headers `job_id` (str),
`clock` (int), `final` (bool), optional `sent_at` (float, unix seconds) or `sent_at_us` (int, unix
microseconds; preferred when both are there: aio-pika/pamqp encode a Python float as a 32-bit float,
which at today's unix time is only good to about a minute) and `private` (bool: mark
the job private before storing the chunk). Encoded by the
publisher, decoded by the ingester; a message that breaks it raises MalformedMessage."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from logstore.errors import MalformedMessage

REASON_HEADER = "x-logstore-reason"
ERROR_HEADER = "x-logstore-error"


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
    if not headers:
        raise MalformedMessage("message has no headers: job_id and clock are required")
    job_id = headers.get("job_id")
    if isinstance(job_id, bytes):
        try:
            job_id = job_id.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage("header job_id is not UTF-8") from exc
    if not isinstance(job_id, str):
        raise MalformedMessage(f"header job_id must be a string, got {type(job_id).__name__}")
    if "clock" not in headers:
        raise MalformedMessage("header clock is missing")
    clock = headers["clock"]
    if isinstance(clock, bool) or not isinstance(clock, int):
        raise MalformedMessage(f"header clock must be an integer, got {type(clock).__name__}")
    final = headers.get("final", False)
    if not isinstance(final, bool):
        raise MalformedMessage(f"header final must be a boolean, got {type(final).__name__}")
    sent_at = headers.get("sent_at")
    if sent_at is not None and (isinstance(sent_at, bool) or not isinstance(sent_at, (int, float))):
        raise MalformedMessage("header sent_at must be a number (unix seconds)")
    sent_at_us = headers.get("sent_at_us")
    if sent_at_us is not None:
        if isinstance(sent_at_us, bool) or not isinstance(sent_at_us, int):
            raise MalformedMessage("header sent_at_us must be an integer (unix microseconds)")
        sent_at = sent_at_us / 1_000_000
    private = headers.get("private", False)
    if not isinstance(private, bool):
        raise MalformedMessage(f"header private must be a boolean, got {type(private).__name__}")
    return ChunkMessage(job_id, clock, final, float(sent_at) if sent_at is not None else None, private)

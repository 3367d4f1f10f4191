"""The headers of a refused message as one JSON text, which always encodes.

A dead letter must never depend on re-encoding whatever arrived: another client may have sent
values our AMQP library cannot write back (a negative short integer with pamqp 3, a timestamp no
datetime holds, a header name that is not UTF-8, a string near the frame size). So a dead letter
carries the original headers as JSON in one string header, every value tagged with what it was,
cut to a bounded size."""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import math
from typing import Any

from logstore.bus.tolerant_frames import OutOfRangeTimestamp

MAX_JSON_CHARS = 32 * 1024  # with the reason and error, well inside the broker's 128 KiB frame
MAX_STRING_CHARS = 4096  # per string value; longer ones keep their head and their length
MAX_DEPTH = 16


def original_headers_json(headers: dict[str, Any] | None) -> str:
    text = json.dumps(_plain(headers or {}, 0), ensure_ascii=True, allow_nan=False, sort_keys=True)
    if len(text) > MAX_JSON_CHARS:
        return json.dumps({"truncated": True, "head": text[:MAX_JSON_CHARS]}, ensure_ascii=True)
    return text


def _plain(value: Any, depth: int) -> Any:
    """A JSON value for any decoded AMQP field value (type tags where JSON has no such type)."""
    if depth > MAX_DEPTH:
        return {"nested_too_deep": True}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, OutOfRangeTimestamp):
        return {"timestamp_s": int(value)}
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime.datetime):
        return {"timestamp": value.isoformat()}
    if isinstance(value, bytes | bytearray):
        return {"bytes_b64": base64.b64encode(bytes(value[:MAX_STRING_CHARS])).decode(), "length": len(value)}
    if isinstance(value, str):
        return (
            value
            if len(value) <= MAX_STRING_CHARS
            else {"head": value[:MAX_STRING_CHARS], "length": len(value)}
        )
    if isinstance(value, dict):
        return {_key(key): _plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, depth + 1) for item in value]
    return {"unknown": type(value).__name__}


def _key(key: object) -> str:
    # names that were not UTF-8 arrive with surrogate escapes; JSON's \\u escapes keep them
    return key if isinstance(key, str) else repr(key)

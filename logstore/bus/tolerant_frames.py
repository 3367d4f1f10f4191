"""Make the AMQP client's frame decoding total: no message a broker delivers can break a connection.

RabbitMQ forwards what any client in any language published, and pamqp (under aio-pika/aiormq)
raises on some of it while decoding a frame: a timestamp past the year 9999 in a header, a header
name or routing key that is not UTF-8. aiormq then closes the whole connection, the broker hands
the message to the next consumer, and it kills that connection too: one message stops ingestion.

`install()` swaps in tolerant decoders and, for whatever else a content header may hold that
still fails to decode, a fallback that keeps the frame (its body size is all the framing needs)
and replaces its properties with two headers saying what happened. The ingester refuses such a
message like any malformed one: it is dead-lettered with the raw properties attached.

pamqp is pinned exactly (pyproject.toml): these hooks replace module-level functions of its
decoder, and `tests/logstore/test_tolerant_frames.py` checks every one of them still applies.
"""

from __future__ import annotations

import base64
import datetime
import struct
from typing import Any

from pamqp import commands, decode, frame, header
from pamqp.common import FieldTable

UNDECODABLE_HEADER = "x-logstore-undecodable"
"""Set (to the decoder's error) on a message whose properties could not be decoded."""
RAW_PROPERTIES_HEADER = "x-logstore-raw-properties"
"""The undecodable properties, base64, cut to RAW_PROPERTIES_LIMIT bytes before encoding."""
RAW_PROPERTIES_LIMIT = 16 * 1024  # a dead letter's headers must fit the broker's frame_max (128 KiB)


class OutOfRangeTimestamp(int):
    """A header timestamp (unix seconds) that no datetime can hold; kept as its number."""


def _short_str(value: bytes) -> tuple[int, str]:
    """pamqp's short string, but bytes that are not UTF-8 survive as surrogate escapes."""
    try:
        length = struct.unpack_from(">B", value, 0)[0]
    except struct.error as err:
        raise ValueError("Could not unpack short string value") from err
    return length + 1, value[1 : length + 1].decode("utf-8", "surrogateescape")


def _table_timestamp(value: bytes) -> tuple[int, datetime.datetime | OutOfRangeTimestamp]:
    try:
        return decode.timestamp(value)
    except (OverflowError, OSError, ValueError):
        try:
            (seconds,) = struct.unpack_from(">Q", value, 0)
        except struct.error as err:
            raise ValueError("Could not unpack timestamp value") from err
        return 8, OutOfRangeTimestamp(seconds)


def _property_timestamp(value: bytes) -> tuple[int, datetime.datetime | None]:
    """The `timestamp` property: aio-pika accepts only a datetime or None there."""
    consumed, decoded = _table_timestamp(value)
    return consumed, decoded if isinstance(decoded, datetime.datetime) else None


def _field_table(value: bytes) -> tuple[int, dict[str, Any]]:
    """pamqp's field table, with header names that are not UTF-8 kept as surrogate escapes."""
    try:
        (length,) = struct.unpack_from(">I", value, 0)
        offset, end = 4, 4 + length
        if end > len(value):
            raise ValueError("Field table length exceeds available data")
        data: dict[str, Any] = {}
        while offset < end:
            key_length = value[offset]
            offset += 1
            if offset + key_length > end:
                raise ValueError("Field table key length exceeds data")
            key = value[offset : offset + key_length].decode("utf-8", "surrogateescape")
            offset += key_length
            consumed, result = decode.embedded_value(value[offset:])
            offset += consumed
            data[key] = result
        return end, data
    except (struct.error, TypeError, IndexError) as err:
        raise ValueError("Could not unpack data") from err


def _unmarshal_header_frame(frame_data: bytes) -> header.ContentHeader:
    content_header = header.ContentHeader()
    try:
        content_header.unmarshal(frame_data)
        return content_header
    except Exception as error:
        if len(frame_data) < 12:
            raise  # not even a body size: the frame itself is broken, and so is the connection
        _, weight, body_size = struct.unpack(">HHQ", frame_data[:12])
        raw = base64.b64encode(frame_data[12 : 12 + RAW_PROPERTIES_LIMIT]).decode("ascii")
        headers: FieldTable = {
            UNDECODABLE_HEADER: f"{type(error).__name__}: {error}"[:500],
            RAW_PROPERTIES_HEADER: raw,
        }
        return header.ContentHeader(weight, body_size, commands.Basic.Properties(headers=headers))


def install() -> None:
    """Install the tolerant decoders (idempotent)."""
    decode.METHODS["shortstr"] = _short_str
    decode.METHODS["table"] = _field_table
    decode.METHODS["timestamp"] = _property_timestamp
    decode.TABLE_MAPPING[b"F"] = _field_table
    decode.TABLE_MAPPING[b"T"] = _table_timestamp
    frame._unmarshal_header_frame = _unmarshal_header_frame


def installed() -> bool:
    return frame._unmarshal_header_frame is _unmarshal_header_frame

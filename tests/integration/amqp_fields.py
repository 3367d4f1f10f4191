"""AMQP 0-9-1 field-table values written byte by byte (RabbitMQ's dialect of the type tags), so
tests can put any value a client in any language may send into a message's headers.

`table({...})` takes already-encoded values: build them with the functions below.
"""

from __future__ import annotations

import struct


def _long(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def boolean(value: bool) -> bytes:
    return b"t" + bytes([1 if value else 0])


def int8(value: int) -> bytes:
    return b"b" + struct.pack(">b", value)


def uint8(value: int) -> bytes:
    return b"B" + struct.pack(">B", value)


def int16(value: int) -> bytes:
    return b"s" + struct.pack(">h", value)


def uint16(value: int) -> bytes:
    return b"u" + struct.pack(">H", value)


def int32(value: int) -> bytes:
    return b"I" + struct.pack(">i", value)


def uint32(value: int) -> bytes:
    return b"i" + struct.pack(">I", value)


def int64(value: int) -> bytes:
    return b"l" + struct.pack(">q", value)


def float32(value: float) -> bytes:
    return b"f" + struct.pack(">f", value)


def float64(value: float) -> bytes:
    return b"d" + struct.pack(">d", value)


def decimal(scale: int, value: int) -> bytes:
    return b"D" + struct.pack(">Bi", scale, value)


def long_string(data: bytes) -> bytes:
    """Any bytes: UTF-8 or not."""
    return b"S" + _long(data)


def timestamp(seconds: int) -> bytes:
    return b"T" + struct.pack(">Q", seconds)


def void() -> bytes:
    return b"V"


def byte_array(data: bytes) -> bytes:
    return b"x" + _long(data)


def array(values: list[bytes]) -> bytes:
    return b"A" + _long(b"".join(values))


def nested(fields: dict[bytes, bytes]) -> bytes:
    return b"F" + table(fields)


def table(fields: dict[bytes, bytes]) -> bytes:
    """A field table from raw keys (any bytes up to 255, UTF-8 or not) and encoded values."""
    body = b"".join(bytes([len(key)]) + key + value for key, value in fields.items())
    return _long(body)

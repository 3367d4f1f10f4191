"""The AMQP client's frame decoding is total once logstore.bus is imported: header values that
pamqp cannot decode, and properties that fail to decode at all, give a frame, never an error that
would close the connection. (The end-to-end check over the real broker is
tests/integration/test_hostile_headers.py.)"""

from __future__ import annotations

import base64
import datetime
import struct

from pamqp import frame, header

import logstore.bus.amqp  # noqa: F401 - installs the tolerant decoders
from logstore.bus import tolerant_frames
from logstore.bus.tolerant_frames import RAW_PROPERTIES_HEADER, UNDECODABLE_HEADER, OutOfRangeTimestamp
from tests.integration import amqp_fields as F
from tests.integration.raw_amqp import content_frames


def decode_header(properties: bytes, body_size: int = 3) -> header.ContentHeader:
    payload = struct.pack(">HHQ", 60, 0, body_size) + properties
    raw = struct.pack(">BHI", 2, 1, len(payload)) + payload + b"\xce"
    _, _, decoded = frame.unmarshal(raw)
    assert isinstance(decoded, header.ContentHeader)
    return decoded


def headers_of(table: bytes) -> dict[str, object]:
    framed = content_frames(1, table, b"abc", 131072)
    _, _, decoded = frame.unmarshal(framed[: framed.index(b"\xce") + 1])
    assert isinstance(decoded, header.ContentHeader)
    return dict(decoded.properties.headers or {})


def test_the_hooks_are_installed() -> None:
    assert tolerant_frames.installed()


def test_timestamps_past_any_datetime_keep_their_number() -> None:
    headers = headers_of(F.table({b"huge": F.timestamp(2**64 - 1), b"ok": F.timestamp(1_700_000_000)}))
    assert isinstance(headers["huge"], OutOfRangeTimestamp)
    assert int(headers["huge"]) == 2**64 - 1
    assert headers["ok"] == datetime.datetime.fromtimestamp(1_700_000_000, datetime.UTC)


def test_header_names_that_are_not_utf8_survive() -> None:
    headers = headers_of(F.table({b"\xff\xfename": F.int8(-3), b"job_id": F.long_string(b"j")}))
    assert headers["\udcff\udcfename"] == -3
    assert headers["job_id"] == "j"


def test_properties_that_do_not_decode_become_two_headers() -> None:
    # flags say "headers present", then a table that claims more bytes than the frame has
    broken = struct.pack(">H", 1 << 13) + struct.pack(">I", 999) + b"\x01k"
    decoded = decode_header(broken, body_size=7)
    assert decoded.body_size == 7  # the framing survives: the body frames that follow still fit
    headers = decoded.properties.headers or {}
    assert "ValueError" in str(headers[UNDECODABLE_HEADER])
    assert base64.b64decode(str(headers[RAW_PROPERTIES_HEADER])) == broken

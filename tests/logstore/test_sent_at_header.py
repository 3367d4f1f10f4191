"""The sender's time survives the AMQP encoding to the microsecond (pamqp sends a Python float as
a 32-bit float, good only to about a minute at today's unix time: hence `sent_at_us`)."""

from __future__ import annotations

import time

import pytest
from pamqp.decode import field_table as decode_table
from pamqp.encode import field_table as encode_table

from logstore.bus.messages import chunk_headers, decode_headers
from logstore.errors import MalformedMessage


def test_sent_at_is_exact_through_the_wire_encoding() -> None:
    sent = time.time()
    _, wire = decode_table(encode_table(chunk_headers("job-1", 3, False, sent)))
    assert abs(decode_headers(wire).sent_at - sent) < 1e-5  # type: ignore[operator]


def test_the_float_header_alone_is_still_accepted() -> None:
    message = decode_headers({"job_id": "job-1", "clock": 0, "sent_at": 1700000000.5})
    assert message.sent_at == 1700000000.5


def test_sent_at_us_must_be_an_integer() -> None:
    with pytest.raises(MalformedMessage, match="sent_at_us"):
        decode_headers({"job_id": "job-1", "clock": 0, "sent_at_us": "soon"})

"""The lean AMQP frame reader returns what aiormq's own returns, frame for frame, and raises the
same errors on a cut stream, a protocol header and a broken frame."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiormq import connection
from aiormq.exceptions import AMQPConnectionError, InvalidFrameError, ProtocolSyntaxError
from pamqp import commands, frame, header, heartbeat
from pamqp.body import ContentBody

import logstore.bus.amqp  # noqa: F401 - installs the reader
from logstore.bus import frame_reader

Reader = Callable[[connection.FrameReceiver], Awaitable[Any]]
READERS = {"ours": frame_reader.get_frame, "aiormq": frame_reader.ORIGINAL}


def stream(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def read_all(read: Reader, data: bytes, started: bool = True) -> list[Any]:
    receiver = connection.FrameReceiver(stream(data))
    receiver.started = started
    frames = []
    while True:
        try:
            frames.append(await read(receiver))
        except StopAsyncIteration:
            return frames


def message_frames(body: bytes, headers: dict[str, Any]) -> bytes:
    properties = commands.Basic.Properties(headers=headers, delivery_mode=2)
    return b"".join(
        [
            frame.marshal(commands.Basic.Deliver("ctag", 7, False, "", "q"), 1),
            frame.marshal(header.ContentHeader(0, len(body), properties), 1),
            frame.marshal(ContentBody(body), 1) if body else b"",  # an empty body has no frame
            frame.marshal(heartbeat.Heartbeat(), 0),
        ]
    )


def test_it_is_installed() -> None:
    assert frame_reader.installed()


@pytest.mark.parametrize("size", [0, 1, 1600, 131_072 - 8])
async def test_frames_read_the_same_as_with_aiormq(size: int) -> None:
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    data = message_frames(body, {"job_id": "j", "clock": -3}) + message_frames(b"second", {"final": True})
    ours, theirs = await read_all(READERS["ours"], data), await read_all(READERS["aiormq"], data)
    assert len(ours) == (8 if body else 7)
    # the same weights and channels, and frames that encode to the very bytes that were read
    assert [(weight, channel) for weight, channel, _ in ours] == [(w, c) for w, c, _ in theirs]
    assert b"".join(frame.marshal(f, channel) for _, channel, f in ours) == data
    assert b"".join(frame.marshal(f, channel) for _, channel, f in theirs) == data
    bodies = [f.value for _, _, f in ours if isinstance(f, ContentBody)]
    assert bodies == ([body] if body else []) + [b"second"]


@pytest.mark.parametrize("reader", sorted(READERS))
async def test_a_stream_cut_mid_frame_is_a_connection_error(reader: str) -> None:
    data = message_frames(b"abcdef", {})
    for cut in (3, 10, len(data) - 20):
        with pytest.raises(AMQPConnectionError, match="unexpectedly closed"):
            await read_all(READERS[reader], data[:cut])


@pytest.mark.parametrize("reader", sorted(READERS))
async def test_a_protocol_header_from_the_broker_is_a_syntax_error(reader: str) -> None:
    with pytest.raises(ProtocolSyntaxError):
        await read_all(READERS[reader], b"AMQP\x00\x00\x09\x01", started=False)


@pytest.mark.parametrize("reader", sorted(READERS))
async def test_a_frame_without_its_end_byte_is_invalid(reader: str) -> None:
    broken = bytearray(message_frames(b"abc", {}))
    first_end = 7 + int.from_bytes(broken[3:7], "big")
    broken[first_end] = 0x00  # the frame-end octet must be 0xCE
    with pytest.raises(InvalidFrameError):
        await read_all(READERS[reader], bytes(broken))

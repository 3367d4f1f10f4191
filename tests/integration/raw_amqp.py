"""A minimal AMQP 0-9-1 publisher that writes its own frames, so tests can send what other
languages' clients legitimately send (and what aio-pika would never produce): a message's header
table is given as raw bytes, exactly as it goes on the wire.

Method frames are marshalled with pamqp; the content header (where the header table lives) and the
body frames are built here byte by byte.
"""

from __future__ import annotations

import asyncio
import struct
from types import TracebackType

from pamqp import commands, frame
from pamqp.base import Frame

FRAME_END = b"\xce"
HEADER_FRAME = 2
BODY_FRAME = 3
BASIC_CLASS = 60
FLAG_HEADERS = 1 << 13
FLAG_DELIVERY_MODE = 1 << 12
PERSISTENT = 2


class RawPublishRefused(Exception):
    """The broker closed the channel or connection instead of confirming the publish."""


def _frame(frame_type: int, channel: int, payload: bytes) -> bytes:
    return struct.pack(">BHI", frame_type, channel, len(payload)) + payload + FRAME_END


def content_frames(channel: int, headers_table: bytes, body: bytes, frame_max: int) -> bytes:
    """The content header (with `headers_table` verbatim, persistent) and the body frames."""
    properties = struct.pack(">H", FLAG_HEADERS | FLAG_DELIVERY_MODE) + headers_table + bytes([PERSISTENT])
    header = struct.pack(">HHQ", BASIC_CLASS, 0, len(body)) + properties
    frames = [_frame(HEADER_FRAME, channel, header)]
    step = frame_max - 8
    frames += [_frame(BODY_FRAME, channel, body[i : i + step]) for i in range(0, len(body), step)]
    return b"".join(frames)


class RawAmqpPublisher:
    """One connection, one channel in confirm mode; `publish` returns once the broker confirmed."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 5672, user: str = "guest", password: str = "guest"
    ):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.frame_max = 131072
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> RawAmqpPublisher:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.write(b"AMQP\x00\x00\x09\x01")
        await self._expect(commands.Connection.Start)
        response = f"\0{self.user}\0{self.password}"
        self._send(0, commands.Connection.StartOk(client_properties={}, mechanism="PLAIN", response=response))
        tune = await self._expect(commands.Connection.Tune)
        assert isinstance(tune, commands.Connection.Tune)
        self.frame_max = tune.frame_max or self.frame_max
        self._send(0, commands.Connection.TuneOk(channel_max=1, frame_max=self.frame_max, heartbeat=0))
        self._send(0, commands.Connection.Open(virtual_host="/"))
        await self._expect(commands.Connection.OpenOk)
        self._send(1, commands.Channel.Open())
        await self._expect(commands.Channel.OpenOk)
        self._send(1, commands.Confirm.Select())
        await self._expect(commands.Confirm.SelectOk)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()

    async def publish(self, exchange: str, routing_key: str, headers_table: bytes, body: bytes) -> None:
        """Publish with a raw header table; raise RawPublishRefused if the broker refuses it."""
        assert self._writer is not None
        self._send(1, commands.Basic.Publish(exchange=exchange, routing_key=routing_key))
        self._writer.write(content_frames(1, headers_table, body, self.frame_max))
        await self._writer.drain()
        reply = await self._next()
        if not isinstance(reply, commands.Basic.Ack):
            raise RawPublishRefused(repr(reply))

    def _send(self, channel: int, method: Frame) -> None:
        assert self._writer is not None
        self._writer.write(frame.marshal(method, channel))

    async def _next(self) -> Frame:
        assert self._reader is not None
        while True:
            head = await asyncio.wait_for(self._reader.readexactly(7), 10)
            size = struct.unpack(">I", head[3:7])[0]
            rest = await asyncio.wait_for(self._reader.readexactly(size + 1), 10)
            _, _, value = frame.unmarshal(head + rest)
            if isinstance(value, Frame) and not isinstance(value, commands.Connection.Blocked):
                return value

    async def _expect(self, kind: type[Frame]) -> Frame:
        value = await self._next()
        if not isinstance(value, kind):
            raise RawPublishRefused(f"expected {kind.__name__}, got {value!r}")
        return value

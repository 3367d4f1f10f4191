"""The websocket half of the bad-input matrix, through a real `logstore serve`: each case gets its
documented close code (stream/close_codes.py), and a good viewer of the same job still receives
the exact log afterwards."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from benchmarks.harness.processes import serving
from benchmarks.harness.viewer import tail_url, watch
from tests.polling import GENEROUS_S, metric, metric_reaches

LOG = [b"line one\n", b"\x1b[31mred\x1b[0m line two\n", b"line three\n"]
BIG_CHUNK = b"0123456789abcdef" * 65536  # 1 MiB


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("ws-matrix")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOGSTORE_SEND_TIMEOUT_S", "2")
        with serving(f"sqlite:///{workdir}/db.sqlite", workdir, "--max-viewers-per-client", "3") as base:
            yield base


@pytest.fixture
def good_job(server: str, job_id: str) -> str:
    for clock, piece in enumerate(LOG):
        final = "true" if clock == len(LOG) - 1 else "false"
        httpx.put(f"{server}/v1/jobs/{job_id}/chunks/{clock}?final={final}", content=piece).raise_for_status()
    return job_id


async def close_code_of(url: str) -> int | None:
    async with connect(url) as ws:
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


async def assert_good_viewer_intact(server: str, job_id: str) -> None:
    seen = await asyncio.wait_for(watch(server, job_id), GENEROUS_S)
    assert seen.ended
    assert bytes(seen.data) == b"".join(LOG)


BAD_TAIL_URLS = [
    ("from_clock negative", "?from_clock=-1", 4400),
    ("from_clock not a number", "?from_clock=abc", 4400),
    ("from_clock 2^63", "?from_clock=9223372036854775808", 4400),
    ("from_clock fractional", "?from_clock=1.5", 4400),
]


@pytest.mark.parametrize(("name", "query", "code"), BAD_TAIL_URLS, ids=[c[0] for c in BAD_TAIL_URLS])
async def test_bad_tail_query_gets_its_close_code(
    server: str, good_job: str, name: str, query: str, code: int
) -> None:
    url = tail_url(server, good_job, 0).split("?")[0] + query
    assert await close_code_of(url) == code
    await assert_good_viewer_intact(server, good_job)


@pytest.mark.parametrize("bad_id", ["bad%20id", "a" * 129, "%2E%2E", "caf%C3%A9"])
async def test_bad_job_id_in_the_tail_is_4400(server: str, good_job: str, bad_id: str) -> None:
    url = tail_url(server, good_job, 0).replace(good_job, bad_id)
    assert await close_code_of(url) == 4400
    await assert_good_viewer_intact(server, good_job)


async def put(url: str, body: bytes) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        (await client.put(url, content=body)).raise_for_status()


async def test_too_many_tails_from_one_client_is_4429(server: str, good_job: str, job_id: str) -> None:
    running = f"{job_id}-running"  # a job that never ends keeps its viewers connected
    await put(f"{server}/v1/jobs/{running}/chunks/0", b"x")
    url = tail_url(server, running, 0)
    before = await metric(server, "logstore_stream_viewers")
    async with connect(url) as a, connect(url) as b, connect(url) as c:
        await metric_reaches(server, "logstore_stream_viewers", before + 3)  # all admitted first
        assert await close_code_of(url) == 4429
        assert (a.close_code, b.close_code, c.close_code) == (None, None, None)
    # counted out once the server has seen them leave, which may be after their sockets closed
    await metric_reaches(server, "logstore_stream_viewers", before)
    await assert_good_viewer_intact(server, good_job)


async def test_text_and_binary_frames_from_a_viewer_are_ignored(server: str, job_id: str) -> None:
    # the job is still running while the viewer sends, so the server cannot have closed yet
    for clock, piece in enumerate(LOG[:-1]):
        await put(f"{server}/v1/jobs/{job_id}/chunks/{clock}", piece)
    async with connect(tail_url(server, job_id, 0)) as ws:
        await ws.send("{not json")
        await ws.send(b"\x00" * 10_000)
        await put(f"{server}/v1/jobs/{job_id}/chunks/{len(LOG) - 1}?final=true", LOG[-1])
        frames = [await ws.recv() for _ in range(len(LOG) + 1)]
    assert b"".join(f[8:] for f in frames if isinstance(f, bytes)) == b"".join(LOG)


def raw_upgrade(server: str, path: str, receive_buffer: int | None = None) -> socket.socket:
    port = int(server.rsplit(":", 1)[1])
    sock = socket.socket()
    if receive_buffer is not None:  # before connecting, so the TCP window starts that small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while True:
        try:
            piece = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return received
        if not piece:
            return received
        received += piece


def last_close_code(received: bytes) -> int:
    """The status code of the server's close frame (opcode 8, short payload: code then reason)."""
    at = received.rindex(b"\x88")
    assert received[at + 1] == len(received) - at - 2, received[at:]  # it is the last frame
    return int.from_bytes(received[at + 2 : at + 4], "big")


async def test_malformed_frames_close_the_socket_1002(server: str, good_job: str, job_id: str) -> None:
    running = f"{job_id}-running"
    await put(f"{server}/v1/jobs/{running}/chunks/0", b"x")
    sock = raw_upgrade(server, f"/v1/jobs/{running}/tail")
    handshake = b""
    while b"\r\n\r\n" not in handshake:
        handshake += await asyncio.to_thread(sock.recv, 1)
    # a client frame that is not masked and uses reserved bits: a protocol error (RFC 6455 5.1)
    sock.sendall(bytes([0xF1, 0x05]) + b"hello")
    received = await asyncio.to_thread(read_until_closed, sock)
    sock.close()
    assert handshake.startswith(b"HTTP/1.1 101"), handshake
    assert last_close_code(received) == 1002
    await assert_good_viewer_intact(server, good_job)


async def test_a_viewer_that_stops_reading_is_closed_4408(server: str, good_job: str, job_id: str) -> None:
    big = f"{job_id}-big"
    for clock in range(12):  # 12 MiB: far more than the socket buffers can hold
        await put(f"{server}/v1/jobs/{big}/chunks/{clock}", BIG_CHUNK)
    too_slow = 'logstore_stream_tail_closed_total{code="4408"}'
    before = await metric(server, too_slow)
    sock = raw_upgrade(server, f"/v1/jobs/{big}/tail", receive_buffer=4096)
    # a stalled viewer: the server gives up on it once a send has waited 2 s (its send timeout)
    await metric_reaches(server, too_slow, before + 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)  # now read it all quickly
    received = await asyncio.to_thread(read_until_closed, sock)
    sock.close()
    assert last_close_code(received) == 4408
    await assert_good_viewer_intact(server, good_job)

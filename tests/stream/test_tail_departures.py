"""How tails end when the viewer goes away, through a real `logstore serve`: a viewer that hangs
up while frames are in flight costs no error, and one that answers no ping is closed."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from benchmarks.harness.processes import serving
from benchmarks.harness.viewer import tail_url
from tests.polling import metric_reaches

VIEWERS = "logstore_stream_viewers"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with serving(f"sqlite:///{tmp_path}/db.sqlite", tmp_path) as base:
        yield base, tmp_path


@pytest.fixture
def pinging_server(tmp_path: Path) -> Iterator[str]:
    """Pings every viewer each second and gives it a second to answer."""
    keepalive = {"LOGSTORE_WS_PING_INTERVAL_S": "1", "LOGSTORE_WS_PING_TIMEOUT_S": "1"}
    with serving(f"sqlite:///{tmp_path}/db.sqlite", tmp_path, env=keepalive) as base:
        yield base


def error_lines(workdir: Path) -> list[str]:
    lines = []
    for path in workdir.glob("serve-*.log"):
        for line in path.read_text(errors="replace").splitlines():
            try:
                level = json.loads(line).get("level")
            except ValueError:
                level = "unparsed"
            if level in ("error", "critical", "unparsed"):
                lines.append(line[:2000])
    return lines


async def test_viewers_hanging_up_mid_log_cost_no_error(server: tuple[str, Path], job_id: str) -> None:
    base, workdir = server
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        for clock in range(200):
            response = await api.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=b"line %d\n" % clock * 50)
            assert response.status_code == 201, response.text

    async def hang_up_after(frames: int) -> int:
        async with connect(tail_url(base, job_id, 0)) as viewer:
            for _ in range(frames):
                await viewer.recv()
        return frames

    # each leaves while the streamer still has most of the 200 chunks to send it
    wanted = [1 + n % 5 for n in range(40)]
    assert await asyncio.gather(*(hang_up_after(frames) for frames in wanted)) == wanted
    await metric_reaches(base, VIEWERS, 0)
    assert error_lines(workdir) == []


def read_until_closed(sock: socket.socket) -> bytes:
    received = bytearray()
    while chunk := sock.recv(65536):
        received += chunk
    return bytes(received)


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked frame a server sent."""
    frames, at = [], 0
    while at < len(data):
        opcode, length = data[at] & 0x0F, data[at + 1] & 0x7F
        at += 2
        if length == 126:
            length, at = int.from_bytes(data[at : at + 2], "big"), at + 2
        elif length == 127:
            length, at = int.from_bytes(data[at : at + 8], "big"), at + 8
        frames.append((opcode, data[at : at + length]))
        at += length
    return frames


async def test_a_viewer_answering_no_ping_is_closed(pinging_server: str, job_id: str) -> None:
    """A raw client that completes the handshake and then ignores every frame: the server pings it,
    hears no pong, and closes it with 1011 instead of holding it for ever."""
    port = int(pinging_server.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(120)
    sock.sendall(
        f"GET /v1/jobs/{job_id}/tail HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    with sock:
        received = await asyncio.to_thread(read_until_closed, sock)
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    frames = server_frames(rest)
    assert frames[0][0] == 0x9  # a ping
    assert frames[-1][0] == 0x8  # then the close
    assert int.from_bytes(frames[-1][1][:2], "big") == 1011
    await metric_reaches(pinging_server, VIEWERS, 0)

"""Protection reaches what is already connected, through a real `logstore serve` (HTTP and the
tail websocket): a tail that starts ahead of the stored log masks exactly like one from clock 0;
an anonymous viewer connected before its job became private is closed the way a new one is
refused; frames of chunks stored after secrets were registered are masked, with the secret's
bytes held before the registration carried over."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from benchmarks.processes import serving
from stream.masking import mask
from tests.polling import GENEROUS_S, metric, metric_reaches
from tests.stream.conftest import ADMIN, WRITE

CLOCK = struct.Struct(">Q")
SECRET = b"ghp_S3cr3tT0k3n"
AS_WRITER = {"Authorization": f"Bearer {WRITE}"}
LIVE_JOBS = "logstore_stream_live_jobs"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("protection-live")
    flags = ["--write-token", WRITE, "--admin-token", ADMIN]
    with serving(f"sqlite:///{workdir}/db.sqlite", workdir, *flags) as base:
        yield base


def tail_url(base: str, job_id: str, from_clock: int, query: str = "") -> str:
    url = f"{base.replace('http://', 'ws://', 1)}/v1/jobs/{job_id}/tail?from_clock={from_clock}"
    return f"{url}&{query}" if query else url


async def collect(socket: ClientConnection) -> tuple[list[tuple[int, bytes]], int | None]:
    """Frames until the end (or the close), and the close code."""
    frames: list[tuple[int, bytes]] = []
    try:
        async for message in socket:
            if isinstance(message, bytes):
                frames.append((CLOCK.unpack_from(message)[0], message[CLOCK.size :]))
            elif json.loads(message)["type"] == "end":
                break
        await socket.wait_closed()
    except ConnectionClosed:
        pass
    return frames, socket.close_code


async def whole_tail(url: str) -> tuple[list[tuple[int, bytes]], int | None]:
    async with connect(url) as socket:
        return await collect(socket)


async def watching(base: str, url: str) -> asyncio.Task[tuple[list[tuple[int, bytes]], int | None]]:
    """A tail that is subscribed to its job's live feed when this returns."""
    live = await metric(base, LIVE_JOBS)
    task = asyncio.create_task(whole_tail(url))
    await metric_reaches(base, LIVE_JOBS, live + 1)
    return task


async def put(client: httpx.AsyncClient, job_id: str, clock: int, data: bytes, final: bool = False) -> None:
    response = await client.put(
        f"/v1/jobs/{job_id}/chunks/{clock}", content=data, params={"final": str(final).lower()}
    )
    assert response.status_code == 201, response.text


async def test_a_tail_ahead_of_the_stored_log_masks_a_secret_split_before_its_clock(
    server: str, job_id: str
) -> None:
    """Secret registered, chunk 0 stored; a viewer asks for clock 2. Chunk 1 ends with the first
    letters of the secret, chunk 2 starts with the rest: the frame of clock 2 is the one an
    unbroken tail sends, the rest of the secret never shows."""
    pieces = [b"step 1\n", b"token: " + SECRET[:5], SECRET[5:] + b" done\n"]
    async with httpx.AsyncClient(base_url=server, headers=AS_WRITER, timeout=60) as client:
        registered = await client.put(f"/v1/jobs/{job_id}/secrets", json={"secrets": [SECRET.decode()]})
        assert registered.status_code == 200
        await put(client, job_id, 0, pieces[0])
        ahead = await watching(server, tail_url(server, job_id, 2))
        await put(client, job_id, 1, pieces[1])
        await asyncio.sleep(0.05)  # pacing only: the frames are checked whatever the timing
        await put(client, job_id, 2, pieces[2], final=True)
        frames, code = await asyncio.wait_for(ahead, GENEROUS_S)
    unbroken, _ = await whole_tail(tail_url(server, job_id, 0))
    masked = b"".join(data for _, data in unbroken)
    assert masked == mask(b"".join(pieces), [SECRET]) == b"step 1\ntoken: *** done\n"
    assert (frames, code) == (unbroken[2:], 1000)
    assert SECRET[5:] not in b"".join(data for _, data in frames)

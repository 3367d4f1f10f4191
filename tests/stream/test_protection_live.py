"""Protection reaches what is already connected, through a real `logstore serve` (HTTP and the
tail websocket): a tail that starts ahead of the stored log masks exactly like one from clock 0;
an anonymous viewer connected before its job became private gets from then on what a new one
gets (an open, silent tail, as of a job not started yet); frames of chunks stored after secrets
were registered are masked, with the secret's bytes held before the registration carried over."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from benchmarks.harness.processes import serving
from logstore.tail_frame import frame, unframe
from stream.masking import mask
from tests.polling import GENEROUS_S, metric, metric_reaches
from tests.stream.conftest import ADMIN, WRITE

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
                frames.append(unframe(message))
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


async def is_silent(socket: ClientConnection) -> bool:
    """Open, and nothing comes (what a viewer of a private job without credentials gets, as one
    of a job not started yet)."""
    try:
        await asyncio.wait_for(socket.recv(), 2)
    except TimeoutError:
        return socket.close_code is None
    return False


async def subscribed(base: str, url: str) -> ClientConnection:
    """A tail socket that is subscribed to its job's live feed when this returns."""
    live = await metric(base, LIVE_JOBS)
    socket = await connect(url)
    await metric_reaches(base, LIVE_JOBS, live + 1)
    return socket


async def test_the_documented_order_is_safe_against_viewers_that_came_first(server: str, job_id: str) -> None:
    """Viewers connect to a job id that does not exist yet; the worker makes the job private,
    registers its secret, then stores its chunks. The anonymous viewer gets no byte (its tail
    stays open and silent, as a new anonymous one does); the admin's viewer gets the masked log."""
    pieces = [b"export TOKEN=" + SECRET + b"\n", b"curl -H 'token: " + SECRET[:4], SECRET[4:] + b"'\n"]
    anonymous = await subscribed(server, tail_url(server, job_id, 0))
    try:
        admin = asyncio.create_task(whole_tail(tail_url(server, job_id, 0, f"access_token={ADMIN}")))
        async with httpx.AsyncClient(base_url=server, headers=AS_WRITER, timeout=60) as client:
            assert (
                await client.put(f"/v1/jobs/{job_id}/settings", json={"private": True})
            ).status_code == 200
            registered = await client.put(f"/v1/jobs/{job_id}/secrets", json={"secrets": [SECRET.decode()]})
            assert registered.status_code == 200
            for clock, piece in enumerate(pieces):
                await put(client, job_id, clock, piece, final=clock == len(pieces) - 1)
            assert (await client.get(f"/v1/jobs/{job_id}/log")).status_code == 404  # no credentials
        frames, code = await asyncio.wait_for(admin, GENEROUS_S)
        assert (b"".join(data for _, data in frames), code) == (mask(b"".join(pieces), [SECRET]), 1000)
        assert b"".join(data for _, data in frames) == b"export TOKEN=***\ncurl -H 'token: ***'\n"
        assert await is_silent(anonymous)
    finally:
        await anonymous.close()


async def test_an_anonymous_viewer_gets_nothing_once_its_job_becomes_private(
    server: str, job_id: str
) -> None:
    """A public job made private while anonymous viewers follow it: they have the chunks stored
    before the flag, nothing stored after it, and their tails stay open and silent, exactly like
    the tail of an anonymous viewer connecting now."""
    async with httpx.AsyncClient(base_url=server, headers=AS_WRITER, timeout=60) as client:
        await put(client, job_id, 0, b"public line\n")
        viewer = await subscribed(server, tail_url(server, job_id, 0))
        try:
            assert await asyncio.wait_for(viewer.recv(), GENEROUS_S) == frame(0, b"public line\n")
            assert (
                await client.put(f"/v1/jobs/{job_id}/settings", json={"private": True})
            ).status_code == 200
            await put(client, job_id, 1, b"private line\n", final=True)
            async with connect(tail_url(server, job_id, 0)) as newcomer:
                assert await is_silent(viewer)
                assert await is_silent(newcomer)
        finally:
            await viewer.close()


async def test_frames_after_a_registration_are_masked_and_carry_the_held_bytes_over(
    server: str, job_id: str
) -> None:
    """An anonymous viewer of a public job got chunk 0 unmasked: it ends with the first letters
    of a secret the worker registers only then. The rest of that secret, and every later
    occurrence, is masked: the viewer has chunk 0 as it was sent, then the masked log from
    where the secret starts."""
    pieces = [b"step 1\ncurl -H 'token: " + SECRET[:6], SECRET[6:] + b"' https://api\n", SECRET + b" done\n"]
    log = b"".join(pieces)
    async with (
        httpx.AsyncClient(base_url=server, headers=AS_WRITER, timeout=60) as client,
        connect(tail_url(server, job_id, 0)) as viewer,
    ):
        await put(client, job_id, 0, pieces[0])
        assert await asyncio.wait_for(viewer.recv(), GENEROUS_S) == frame(0, pieces[0])
        registered = await client.put(f"/v1/jobs/{job_id}/secrets", json={"secrets": [SECRET.decode()]})
        assert registered.status_code == 200
        await put(client, job_id, 1, pieces[1])
        await put(client, job_id, 2, pieces[2], final=True)
        frames, code = await asyncio.wait_for(collect(viewer), GENEROUS_S)
    assert code == 1000
    assert [clock for clock, _ in frames] == [1, 2]
    after = b"".join(data for _, data in frames)
    assert SECRET[6:] not in after
    assert SECRET not in pieces[0] + after
    assert pieces[0] + after == pieces[0] + mask(log, [SECRET])[log.index(SECRET) :]
    assert after == b"***' https://api\n*** done\n"

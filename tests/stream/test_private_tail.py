"""The tail websocket of a private job with secrets, through a real `logstore serve`: without
credentials it stays open and silent (as an unknown job's), 4403 with another job's signature;
with a signed URL or the admin token its frames are the masked log, live or replayed, and a
resumed tail continues exactly as the unbroken one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from benchmarks.harness.processes import serving
from logstore import url_signing
from logstore.tail_frame import unframe
from stream.masking import mask
from tests.polling import GENEROUS_S, metric, metric_reaches
from tests.stream.conftest import ADMIN, SIGNING_KEY, WRITE

SECRET = b"ghp_S3cr3tT0k3n"
PIECES = [b"step 1\ncurl -H 'token: ghp_S3c", b"r3tT0k3n' https://api\n", b"ghp_S3cr3tT0k3n done\n"]
AS_WRITER = {"Authorization": f"Bearer {WRITE}"}
LIVE_JOBS = "logstore_stream_live_jobs"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("private-tail")
    flags = ["--write-token", WRITE, "--admin-token", ADMIN, "--url-signing-key", SIGNING_KEY]
    with serving(f"sqlite:///{workdir}/db.sqlite", workdir, *flags) as base:
        yield base


def tail_url(base: str, job_id: str, from_clock: int, query: str = "") -> str:
    url = f"{base.replace('http://', 'ws://', 1)}/v1/jobs/{job_id}/tail?from_clock={from_clock}"
    return f"{url}&{query}" if query else url


async def frames_until_end(url: str) -> tuple[list[tuple[int, bytes]], int | None]:
    frames: list[tuple[int, bytes]] = []
    async with connect(url) as socket:
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


async def setup_job(base: str, job_id: str, order: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, headers=AS_WRITER, timeout=60) as client:
        secrets = await client.put(f"/v1/jobs/{job_id}/secrets", json={"secrets": [SECRET.decode()]})
        assert secrets.status_code == 200
        for clock in order:
            params = {"private": "true", "final": str(clock == len(PIECES) - 1).lower()}
            response = await client.put(
                f"/v1/jobs/{job_id}/chunks/{clock}", content=PIECES[clock], params=params
            )
            assert response.status_code == 201


def signed(job_id: str) -> str:
    return url_signing.signed_query(SIGNING_KEY.encode(), job_id, url_signing.expiry(300))


async def test_a_private_tail_needs_credentials(server: str, job_id: str) -> None:
    await setup_job(server, job_id, [2, 1, 0])
    for query in ("", f"access_token={WRITE}"):  # silent, as the tail of a job not started yet
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(frames_until_end(tail_url(server, job_id, 0, query)), 1.5)
    other = signed(f"{job_id}-other")
    assert (await frames_until_end(tail_url(server, job_id, 0, other))) == ([], 4403)
    frames, code = await frames_until_end(tail_url(server, job_id, 0, f"access_token={ADMIN}"))
    assert (b"".join(data for _, data in frames), code) == (mask(b"".join(PIECES), [SECRET]), 1000)


async def test_a_signed_tail_sends_the_masked_log_and_resumes_exactly(server: str, job_id: str) -> None:
    await setup_job(server, job_id, [1, 2, 0])  # the secret split across clocks 0 and 1, 0 last
    query = signed(job_id)
    frames, code = await frames_until_end(tail_url(server, job_id, 0, query))
    assert code == 1000
    assert [clock for clock, _ in frames] == [0, 1, 2]
    masked = b"".join(data for _, data in frames)
    assert (
        masked == mask(b"".join(PIECES), [SECRET]) == b"step 1\ncurl -H 'token: ***' https://api\n*** done\n"
    )
    for resume in (1, 2, 3):
        resumed, _ = await frames_until_end(tail_url(server, job_id, resume, query))
        assert resumed == frames[resume:]


async def test_a_live_signed_tail_masks_chunks_arriving_out_of_order(server: str, job_id: str) -> None:
    async with httpx.AsyncClient(base_url=server, headers=AS_WRITER, timeout=60) as client:
        await client.put(f"/v1/jobs/{job_id}/settings", json={"private": True})
        await client.put(f"/v1/jobs/{job_id}/secrets", json={"secrets": [SECRET.decode()]})
        live = await metric(server, LIVE_JOBS)
        watching = asyncio.create_task(frames_until_end(tail_url(server, job_id, 0, signed(job_id))))
        await metric_reaches(server, LIVE_JOBS, live + 1)  # subscribed: the chunks below arrive live
        for clock in (1, 0, 2):
            params = {"final": str(clock == 2).lower()}
            await client.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=PIECES[clock], params=params)
            await asyncio.sleep(0.05)  # pacing only: the frames are checked whatever the timing
        frames, code = await asyncio.wait_for(watching, GENEROUS_S)
    assert code == 1000
    assert b"".join(data for _, data in frames) == mask(b"".join(PIECES), [SECRET])

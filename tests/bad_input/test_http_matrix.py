"""The HTTP half of the bad-input matrix, on SQLite and on Cassandra: each case gets its documented
status (and error code), and afterwards both jobs read back exactly as before, byte for byte."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from logstore.bus.memory import MemoryBus
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store import LogStore
from tests.bad_input.cases import ADMIN_TOKEN, HTTP_CASES, WRITE_TOKEN, HttpCase
from tests.clocks import FakeClock

FINISHED = [b"first line\n", b"second line\n", b"last line\n"]
RUNNING = [b"\x1b[32mgreen\x1b[0m\n", "naïve ünïcode\n".encode()]


@pytest.fixture
async def guarded(any_store: LogStore) -> AsyncIterator[httpx.AsyncClient]:
    """The all-in-one app with tokens and small limits: 1 KiB chunks, 2 KiB logs."""
    settings = Settings(
        {
            "max_chunk_bytes": 1024,
            "max_log_bytes": 2048,
            "write_token": WRITE_TOKEN,
            "admin_token": ADMIN_TOKEN,
            "store": "sqlite:///unused",
        }
    )
    app = build_app(settings, any_store, MemoryBus())
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {WRITE_TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://logstore", headers=headers) as client:
        yield client


async def snapshot(client: httpx.AsyncClient, job_id: str) -> tuple[bytes, dict[str, object]]:
    log = await client.get(f"/v1/jobs/{job_id}/log")
    status = await client.get(f"/v1/jobs/{job_id}")
    assert (log.status_code, status.status_code) == (200, 200)
    return log.content, status.json()


@pytest.mark.parametrize("case", HTTP_CASES, ids=str)
async def test_bad_http_input_gets_its_status_and_changes_nothing(
    guarded: httpx.AsyncClient, job_id: str, case: HttpCase
) -> None:
    finished, running = f"{job_id}-t", f"{job_id}-w"
    for clock, piece in enumerate(FINISHED):
        final = "true" if clock == len(FINISHED) - 1 else "false"
        assert (
            await guarded.put(f"/v1/jobs/{finished}/chunks/{clock}?final={final}", content=piece)
        ).is_success
    for clock, piece in enumerate(RUNNING):
        assert (await guarded.put(f"/v1/jobs/{running}/chunks/{clock}", content=piece)).is_success
    if case.error == "log_too_large":  # fill the running log to just under its 2 KiB limit
        assert (await guarded.put(f"/v1/jobs/{running}/chunks/9", content=b"y" * 1024)).is_success
    before = [await snapshot(guarded, finished), await snapshot(guarded, running)]

    path = case.path.replace("{t}", finished).replace("{w}", running)
    headers = {k: v for k, v in case.headers.items()}
    request = guarded.build_request(case.method, path, content=case.body, headers=headers)
    if headers.get("Authorization") == "":
        del request.headers["Authorization"]
    response = await guarded.send(request)

    assert response.status_code == case.status, response.text
    if case.error is not None:
        assert response.json()["error"] == case.error
    assert [await snapshot(guarded, finished), await snapshot(guarded, running)] == before
    assert b"".join(FINISHED) == before[0][0]


async def test_a_flood_from_one_client_gets_429_and_changes_nothing(any_store: LogStore, job_id: str) -> None:
    settings = Settings({"rate_limit": 5, "rate_burst": 10, "store": "sqlite:///unused"})
    app = build_app(settings, any_store, MemoryBus(), rate_clock=FakeClock())  # no refill meanwhile
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://logstore"
    ) as client:
        answers = [
            await client.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=b"%d\n" % clock)
            for clock in range(40)
        ]
    statuses = [a.status_code for a in answers]
    assert statuses == [201] * 10 + [429] * 30  # the burst, then nothing while the clock stands
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status_code == 429)
    accepted = [clock for clock, a in enumerate(answers) if a.status_code == 201]
    stored = [clock async for clock, _ in any_store.read_chunks(job_id)]
    assert stored == accepted  # a refused request stored nothing

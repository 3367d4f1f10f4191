"""Write and read tokens: 401 without a bearer token, 403 with a wrong one, and nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from logstore.bus.memory import MemoryBus
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store.sqlite import SQLiteStore


@pytest.fixture
async def guarded(sqlite_store: SQLiteStore) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings({"write_token": "w-secret", "read_token": "r-secret"})
    transport = httpx.ASGITransport(app=build_app(settings, sqlite_store, MemoryBus()))
    async with httpx.AsyncClient(transport=transport, base_url="http://logstore") as client:
        yield client


async def test_writes_need_the_write_token(guarded: httpx.AsyncClient, job_id: str) -> None:
    url = f"/v1/jobs/{job_id}/chunks/0"
    missing = await guarded.put(url, content=b"x")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert (await guarded.put(url, content=b"x", headers={"Authorization": "Bearer nope"})).status_code == 403
    assert (
        await guarded.put(url, content=b"x", headers={"Authorization": "Bearer r-secret"})
    ).status_code == 403
    assert (
        await guarded.put(url, content=b"x", headers={"Authorization": "Basic w-secret"})
    ).status_code == 401
    read = {"Authorization": "Bearer r-secret"}
    assert (await guarded.get(f"/v1/jobs/{job_id}", headers=read)).status_code == 404  # nothing stored
    ok = await guarded.put(url, content=b"x", headers={"Authorization": "Bearer w-secret"})
    assert ok.status_code == 201


async def test_reads_need_the_read_token(guarded: httpx.AsyncClient, job_id: str) -> None:
    await guarded.put(
        f"/v1/jobs/{job_id}/chunks/0", content=b"x", headers={"Authorization": "Bearer w-secret"}
    )
    assert (await guarded.get(f"/v1/jobs/{job_id}/log")).status_code == 401
    assert (
        await guarded.get(f"/v1/jobs/{job_id}/log", headers={"Authorization": "Bearer w-secret"})
    ).status_code == 403
    ok = await guarded.get(f"/v1/jobs/{job_id}/log", headers={"Authorization": "Bearer r-secret"})
    assert ok.content == b"x"

"""A tail admitted by a signed URL lives as long as the URL: once it has expired, the tail sends
no further frame and closes with 4403, whether a chunk arrives (it is not sent) or the job stays
quiet (the idle re-check closes it). The URLs' clock is the test's: nothing waits for real time
to pass an expiry."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

import stream.guarded_tail
from logstore import url_signing
from logstore.bus.memory import MemoryBus
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store.sqlite import SQLiteStore
from logstore.tail_frame import unframe
from stream import close_codes
from tests.polling import GENEROUS_S

WRITE, KEY = "expiry-write-token", "expiry-signing-key"
NOW = 1_900_000_000.0
PIECES = [b"first line, while the URL is valid\n", b"second line, after it expired\n"]


class Viewer:
    """One websocket tail driven through the app's ASGI interface: what the server sent, in order."""

    def __init__(self, app: Any, job_id: str, query: str) -> None:
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._leave = asyncio.Event()
        self._connected = False
        scope = {
            "type": "websocket",
            "path": f"/v1/jobs/{job_id}/tail",
            "raw_path": f"/v1/jobs/{job_id}/tail".encode(),
            "query_string": query.encode(),
            "headers": [],
            "client": ("127.0.0.1", 5000),
            "server": ("logstore", 80),
            "scheme": "ws",
            "subprotocols": [],
            "asgi": {"version": "3.0"},
        }
        self.task = asyncio.create_task(app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, Any]:
        if not self._connected:
            self._connected = True
            return {"type": "websocket.connect"}
        await self._leave.wait()
        return {"type": "websocket.disconnect", "code": 1000}

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        await self.sent.put(dict(message))

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.sent.get(), GENEROUS_S)

    async def leave(self) -> None:
        self._leave.set()
        await asyncio.wait_for(self.task, GENEROUS_S)


@pytest.fixture
async def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    clock = [NOW]
    monkeypatch.setattr(url_signing, "clock", lambda: clock[0])
    store = SQLiteStore(tmp_path / "db.sqlite")
    settings = Settings({"store": "sqlite:///unused", "write_token": WRITE, "url_signing_key": KEY})
    app = build_app(settings, store, MemoryBus())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://logstore") as client:
        yield app, client, clock
    await store.close()


async def put(client: httpx.AsyncClient, job_id: str, clock: int) -> None:
    response = await client.put(
        f"/v1/jobs/{job_id}/chunks/{clock}",
        content=PIECES[clock],
        params={"private": "true"},
        headers={"Authorization": f"Bearer {WRITE}"},
    )
    assert response.status_code == 201, response.text


async def admitted(app: Any, client: httpx.AsyncClient, job_id: str) -> tuple[Viewer, int]:
    """A viewer of a private job on a URL valid for 60 s, having received the first chunk."""
    await put(client, job_id, 0)
    expires = url_signing.expiry(60)
    viewer = Viewer(app, job_id, f"from_clock=0&{url_signing.signed_query(KEY.encode(), job_id, expires)}")
    assert (await viewer.next())["type"] == "websocket.accept"
    first = await viewer.next()
    assert unframe(first["bytes"]) == (0, PIECES[0])
    return viewer, expires


async def test_a_chunk_after_the_expiry_is_not_sent_and_the_tail_closes_4403(
    served: Any, job_id: str
) -> None:
    app, client, clock = served
    viewer, expires = await admitted(app, client, job_id)
    clock[0] = expires + 1
    await put(client, job_id, 1)
    closed = await viewer.next()
    assert (closed["type"], closed.get("code")) == ("websocket.close", close_codes.FORBIDDEN), closed
    await viewer.leave()
    assert viewer.sent.empty()


async def test_a_quiet_tail_closes_4403_once_its_url_expired(
    served: Any, job_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream.guarded_tail, "IDLE_RECHECK_S", 0.05)  # re-checked often while quiet
    app, client, clock = served
    viewer, expires = await admitted(app, client, job_id)
    clock[0] = expires + 1
    closed = await viewer.next()
    assert (closed["type"], closed.get("code")) == ("websocket.close", close_codes.FORBIDDEN), closed
    await viewer.leave()


async def test_a_valid_url_keeps_its_tail_open_and_sending(served: Any, job_id: str) -> None:
    app, client, clock = served
    viewer, expires = await admitted(app, client, job_id)
    clock[0] = expires - 1  # not yet
    await put(client, job_id, 1)
    assert unframe((await viewer.next())["bytes"]) == (1, PIECES[1])
    await viewer.leave()

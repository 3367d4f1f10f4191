"""Deleting is admin-only: open only on a server without any token; with a write or read token
but no admin token configured, nobody deletes over HTTP."""

from __future__ import annotations

import httpx

from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store import LogStore


async def delete_status(store: LogStore, job_id: str, settings: dict[str, str], token: str | None) -> int:
    app = build_app(Settings({"store": "sqlite:///unused", **settings}), store, MemoryBus())
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return (await client.delete(f"/v1/jobs/{job_id}", headers=headers)).status_code


async def test_without_an_admin_token_configured_tokens_never_delete(
    any_store: LogStore, job_id: str
) -> None:
    await any_store.put_chunk(Chunk.create(job_id, 0, b"done\n", final=True))
    tokens = {"write_token": "write-1234", "read_token": "read-5678"}
    for token in (None, "write-1234", "read-5678"):
        assert await delete_status(any_store, job_id, tokens, token) == 403
    assert await delete_status(any_store, job_id, {"write_token": "write-1234"}, "write-1234") == 403
    assert (await any_store.get_job(job_id)).chunks == 1  # still there
    assert await delete_status(any_store, job_id, {}, None) == 204  # a laptop: no token at all

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from logstore.bus.memory import MemoryBus
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store import LogStore
from tests.servers import refuse_unmarked

# Debian's Chromium, driven by Playwright (never `playwright install`: no downloads here)
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

WRITE, READ, ADMIN = "write-token-1234", "read-token-5678", "admin-token-9012"


async def put(api: httpx.AsyncClient, job_id: str, clock: int, data: bytes, **params: Any) -> None:
    """PUT one chunk as the writer; it must be newly stored (201)."""
    response = await api.put(
        f"/v1/jobs/{job_id}/chunks/{clock}",
        content=data,
        params=params,
        headers={"Authorization": f"Bearer {WRITE}"},
    )
    assert response.status_code == 201, response.text


SIGNING_KEY = "signing-key-0123456789abcdef"


@pytest.fixture
async def secured(any_store: LogStore) -> AsyncIterator[httpx.AsyncClient]:
    """The all-in-one app with a write and an admin token and a URL signing key, but no read
    token: public jobs are open, private ones need the admin token or a signed URL."""
    settings = Settings(
        {
            "store": "sqlite:///unused",
            "write_token": WRITE,
            "admin_token": ADMIN,
            "url_signing_key": SIGNING_KEY,
        }
    )
    app = build_app(settings, any_store, MemoryBus())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://logstore"
    ) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    refuse_unmarked("Chromium")
    if not await asyncio.to_thread(Path(CHROMIUM).exists):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/chromium.sh")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        await browser.close()

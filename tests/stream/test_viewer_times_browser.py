"""Times in the viewer, in headless Chromium against a real `logstore serve`: the time each line's
chunk was stored and each fold's duration show when toggled on and hide when toggled off. The
store is filled before the server starts, with stored times set explicitly (no wall clock), and
the same times are shown once the job is compacted. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from benchmarks.harness.processes import serving
from compactor.archive_job import ArchiveJob, Outcome
from logstore.chunk import Chunk
from logstore.config import CompactSettings
from logstore.store.sqlite import SQLiteStore
from tests.stream.conftest import ARTIFACTS
from tests.stream.test_viewer_browser import open_viewer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
T0 = 1_764_000_000.0  # 2025-11-24T16:00:00Z
CHUNKS = [  # (bytes, stored at)
    (b"start\n", T0),
    (b"::group::Install\nstep a\n", T0 + 2),
    (b"step b\n::endgroup::\nafter\n", T0 + 7.5),
]


def prepare(path: Path, job_id: str) -> None:
    async def write() -> None:
        store = SQLiteStore(path)
        for clock, (data, _) in enumerate(CHUNKS):
            await store.put_chunk(Chunk.create(job_id, clock, data, final=clock == len(CHUNKS) - 1))
            await store.put_chunk(
                Chunk.create(f"{job_id}-archived", clock, data, final=clock == len(CHUNKS) - 1)
            )
        await store.close()

    asyncio.run(write())
    with sqlite3.connect(path) as conn:
        for clock, (_, at) in enumerate(CHUNKS):
            conn.execute(
                "UPDATE chunks SET stored_at = ? WHERE job_id LIKE ? AND clock = ?", (at, f"{job_id}%", clock)
            )

    async def archive() -> None:
        store = SQLiteStore(path)
        outcome = await ArchiveJob(store, CompactSettings(grace_s=0.1), "t").run(f"{job_id}-archived")
        assert outcome is Outcome.COMPACTED
        await store.close()

    asyncio.run(archive())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    workdir = tmp_path_factory.mktemp("viewer-times")
    job_id = "times-job"
    prepare(workdir / "logstore.db", job_id)
    with serving(f"sqlite:///{workdir}/logstore.db", workdir) as base:
        yield base, job_id


async def texts(page: Page, selector: str) -> list[str]:
    return await page.locator(selector).all_inner_texts()


async def shows(page: Page, selector: str, expected: list[str]) -> None:
    """Wait until the elements matching `selector` read `expected` (the viewer draws on the next
    animation frame, and may draw empty times before they are loaded)."""
    wanted = json.dumps(expected, separators=(",", ":"))
    await page.wait_for_function(
        "([s, e]) => JSON.stringify([...document.querySelectorAll(s)].map(n => n.innerText)) === e",
        arg=[selector, wanted],
    )
    assert await texts(page, selector) == expected


@pytest.mark.parametrize("suffix", ["", "-archived"], ids=["chunks", "archive"])
async def test_times_and_fold_durations_show_and_hide(
    server: tuple[str, str], browser: Browser, suffix: str
) -> None:
    base, job_id = server
    page = await open_viewer(browser, base, job_id + suffix)
    await page.wait_for_selector("#status[data-state=ended]")
    assert await page.locator(".ts").count() == 0
    await page.click("#times")
    await page.wait_for_selector("#times[data-loaded='3']")
    await shows(page, ".line .ts", ["16:00:00", "16:00:02", "16:00:07"])  # start, Install, after
    await shows(page, ".fold-header .dur", ["5.5 s"])  # 16:00:02 to "step b" at 16:00:07.5
    await page.click(".fold-header .fold-toggle")
    await page.wait_for_selector(".line:has-text('step b')")
    await shows(page, ".line .ts", ["16:00:00", "16:00:02", "16:00:02", "16:00:07", "16:00:07"])
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"viewer-times{suffix or '-chunks'}.png"))
    await page.click("#times")
    await page.wait_for_selector("#times[aria-pressed=false]")
    await page.wait_for_function("document.querySelectorAll('.ts, .dur').length === 0")

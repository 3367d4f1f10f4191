"""The job list page in headless Chromium against a real `logstore serve`: size, state, duration
and last activity per job, live updates as chunks arrive, filters by state and job-id prefix.
Screenshots are kept in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Browser

from benchmarks.harness.processes import serving
from tests.stream.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("jobs-page")
    with serving(f"sqlite:///{workdir}/logstore.db", workdir) as base:
        yield base


async def test_the_job_list_updates_live_and_filters(server: str, browser: Browser, job_id: str) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        assert (
            await client.put(f"/v1/jobs/{job_id}-a/chunks/0", content=b"x" * 2048, params={"final": True})
        ).is_success
        assert (await client.put(f"/v1/jobs/{job_id}-b/chunks/0", content=b"running\n")).is_success
        page = await browser.new_page(viewport={"width": 1200, "height": 600})
        page.set_default_timeout(60_000)  # a loaded 2-core machine; the page refreshes every 2 s
        await page.goto(f"{server}/jobs")
        row_a, row_b = page.locator(f"tr[data-job='{job_id}-a']"), page.locator(f"tr[data-job='{job_id}-b']")
        await row_b.wait_for()
        cells = await row_a.locator("td").all_inner_texts()
        assert cells[0] == f"{job_id}-a"
        assert cells[1] in ("finished", "compacted")
        assert cells[2] == "2.0 KiB"
        assert cells[3].endswith(" s")  # duration
        assert cells[4].endswith(" ago")  # last activity
        assert await row_b.get_attribute("data-state") == "running"
        assert await row_b.get_attribute("data-bytes") == "8"

        # live: more bytes for b, a new job c, without reloading the page
        assert (await client.put(f"/v1/jobs/{job_id}-b/chunks/1", content=b"more output\n")).is_success
        assert (await client.put(f"/v1/jobs/{job_id}-c/chunks/0", content=b"new\n")).is_success
        await page.wait_for_selector(f"tr[data-job='{job_id}-b'][data-bytes='20']", timeout=60_000)
        await page.wait_for_selector(f"tr[data-job='{job_id}-c']", timeout=60_000)

        await page.fill("#prefix", f"{job_id}-")
        await page.select_option("#state", "running")
        await page.wait_for_function(
            "[...document.querySelectorAll('#jobs tr')].every(r => r.dataset.state === 'running')"
            " && document.querySelectorAll('#jobs tr').length === 2"
        )
        shown = await page.locator("#jobs tr").evaluate_all("rows => rows.map(r => r.dataset.job).sort()")
        assert shown == [f"{job_id}-b", f"{job_id}-c"]
        assert "state=running" in page.url
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "jobs-page-filtered.png"))
        await page.fill("#prefix", f"{job_id}-c")
        await page.wait_for_function("document.querySelectorAll('#jobs tr').length === 1")
        await page.click(f"text={job_id}-c")
        await page.wait_for_selector(".line:has-text('new')")

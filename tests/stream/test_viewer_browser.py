"""The viewer page in headless Chromium (Debian's, driven by Playwright) against a real
`logstore serve` on Cassandra: colours, folds, carriage returns, UTF-8 across chunks, live appends.
Screenshots are kept in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Browser, Page

from benchmarks.harness.corpus import CORPUS
from benchmarks.harness.processes import serving
from tests.clocks import a_fresh_millisecond
from tests.polling import GENEROUS_S
from tests.servers import require_cassandra
from tests.stream.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.cassandra, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(require_cassandra(), tmp_path_factory.mktemp("viewer")) as base:
        yield base


async def put_all(base: str, job_id: str, data: bytes, size: int, final: bool = True) -> None:
    pieces = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    async with httpx.AsyncClient(base_url=base, timeout=GENEROUS_S) as client:
        for clock, piece in enumerate(pieces):
            params = {"final": "true"} if final and clock == len(pieces) - 1 else {}
            response = await client.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=piece, params=params)
            assert response.status_code == 201


async def open_viewer(browser: Browser, base: str, job_id: str) -> Page:
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(GENEROUS_S * 1000)
    await page.goto(f"{base}/jobs/{job_id}")
    return page


async def style_of(page: Page, text: str) -> dict[str, str]:
    span = page.locator(".line .t span", has_text=text).first
    style: dict[str, str] = await span.evaluate(
        "e => ({color: getComputedStyle(e).color, weight: getComputedStyle(e).fontWeight})"
    )
    return style


async def test_travis_log_colours_and_folds(server: str, browser: Browser, job_id: str) -> None:
    await put_all(server, job_id, (CORPUS / "travis" / "timing_info.log").read_bytes(), size=333)
    page = await open_viewer(browser, server, job_id)
    await page.wait_for_selector("#status[data-state=ended]")
    assert await page.get_attribute("#status", "data-lines") == "29"
    header = page.locator(".fold-header", has_text="Worker information")
    assert await header.count() == 1
    assert await style_of(page, "Worker information") == {"color": "rgb(229, 192, 123)", "weight": "700"}
    assert await page.locator(".line", has_text="hostname: b76fa966").count() == 0  # folded
    assert await page.locator(".line", has_text="travis_fold").count() == 0  # markers never shown
    assert await page.locator(".line", has_text="travis_time").count() == 0
    await header.locator(".fold-toggle").click()
    await page.wait_for_selector(".line:has-text('hostname: b76fa966')")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "viewer-travis.png"))


async def test_gitlab_sections_fold_and_keep_colours(server: str, browser: Browser, job_id: str) -> None:
    await put_all(server, job_id, (CORPUS / "gitlab" / "trace_with_sections").read_bytes(), size=97)
    page = await open_viewer(browser, server, job_id)
    await page.wait_for_selector("#status[data-state=ended]")
    cloning = page.locator(".fold-header", has_text="Cloning repository...")
    assert await cloning.count() == 1
    assert await style_of(page, "Cloning repository...") == {"color": "rgb(152, 195, 121)", "weight": "700"}
    assert await page.locator(".line", has_text="Cloning into '/nolith/ci-tests'").count() == 0
    await cloning.locator(".t").click()
    await page.wait_for_selector(".line:has-text(\"Cloning into '/nolith/ci-tests'\")")
    assert await style_of(page, "Job succeeded") == {"color": "rgb(152, 195, 121)", "weight": "700"}
    assert await page.locator(".line", has_text="section_start").count() == 0
    assert await page.locator(".line", has_text="WARNING: Namespace is empty").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "viewer-gitlab.png"))


async def test_a_job_appended_to_while_the_page_is_open(server: str, browser: Browser, job_id: str) -> None:
    page = await open_viewer(browser, server, job_id)
    snowman = "caf\u00e9 \u2603 done\n".encode()
    cut = snowman.index(b"\xe2") + 1  # inside the snowman's UTF-8 bytes
    chunks = [
        b"\x1b[31mfirst line in red\x1b[0m\n",
        b"progress 10%\rprogress 55%\rprogress 100%\n",
        snowman[:cut],
        snowman[cut:],
        b"::group::Install deps\nnpm ci\n::endgroup::\nafter the group\n",
    ]
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        lines_after = [1, 2, 2, 3, 6]  # complete lines shown after each chunk
        for clock, chunk in enumerate(chunks):
            await client.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=chunk)
            shown = f"document.querySelector('#status').dataset.lines == '{lines_after[clock]}'"
            await page.wait_for_function(shown)
        await page.wait_for_selector(".line:has-text('after the group')")
        assert await page.locator(".line .t", has_text="progress 100%").inner_text() == "progress 100%"
        assert await page.locator(".line", has_text="progress 10%").count() == 0
        assert await page.locator(".line .t", has_text="caf\u00e9").inner_text() == "caf\u00e9 \u2603 done"
        assert await style_of(page, "first line in red") == {"color": "rgb(224, 108, 117)", "weight": "400"}
        assert await page.locator(".fold-header", has_text="Install deps").count() == 1
        assert await page.locator(".line", has_text="npm ci").count() == 0
        assert await page.get_attribute("#status", "data-state") == "live"
        await client.put(f"/v1/jobs/{job_id}/chunks/5", content=b"the end\n", params={"final": "true"})
    await page.wait_for_selector("#status[data-state=ended]")
    await page.wait_for_selector(".line:has-text('the end')")


async def test_line_anchor_opens_its_fold(server: str, browser: Browser, job_id: str) -> None:
    await put_all(server, job_id, (CORPUS / "travis" / "timing_info.log").read_bytes(), size=4096)
    page = await open_viewer(browser, server, job_id)
    await page.wait_for_selector("#status[data-state=ended]")
    await page.goto(f"{server}/jobs/{job_id}#L3")
    await page.wait_for_selector("#L3.target")
    assert "version: v6.2.1" in await page.locator("#L3").inner_text()


async def test_invalid_job_id_page_is_422(server: str) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        assert (await client.get("/jobs/bad%20id")).status_code == 422
        assert (await client.get("/static/nope.js")).status_code == 404


async def test_job_list_page_links_to_the_viewer(server: str, browser: Browser, job_id: str) -> None:
    await put_all(server, f"{job_id}-a", b"done\n", size=100)
    a_fresh_millisecond()  # b is created strictly after a, even to the millisecond Cassandra keeps
    await put_all(server, f"{job_id}-b", b"still going\n", size=100, final=False)
    async with httpx.AsyncClient(base_url=server, timeout=GENEROUS_S) as client:
        listed = (await client.get("/v1/jobs", params={"limit": 500})).json()["jobs"]
    states = {job["job_id"]: job["state"] for job in listed}
    assert states[f"{job_id}-b"] == "running"
    assert states[f"{job_id}-a"] in ("finished", "compacted")
    ids = [job["job_id"] for job in listed]
    assert ids.index(f"{job_id}-b") < ids.index(f"{job_id}-a")  # newest first
    page = await browser.new_page()
    page.set_default_timeout(GENEROUS_S * 1000)
    await page.goto(f"{server}/jobs")
    await page.wait_for_selector("#status[data-state=loaded]")
    await page.click(f"text={job_id}-b")
    await page.wait_for_selector(".line:has-text('still going')")
    assert page.url.endswith(f"/jobs/{job_id}-b")


async def test_a_fifty_megabyte_log_loads_and_stays_usable(
    server: str, browser: Browser, job_id: str
) -> None:
    text = (CORPUS / "travis" / "timing_info.log").read_bytes()
    copies = 50 * 1024 * 1024 // len(text) + 1
    source = text * copies  # about 50 MB, with a fold in every copy
    await put_all(server, job_id, source, size=512 * 1024)
    page = await open_viewer(browser, server, job_id)
    await page.wait_for_selector("#status[data-state=ended]", timeout=180_000)
    lines = int(await page.get_attribute("#status", "data-lines") or 0)
    assert lines == 29 * copies  # one copy shows as 29 lines (test_travis_log_colours_and_folds)
    assert len(await page.locator(".line").all()) < 500  # only what is in view is in the DOM
    await page.locator("#log").evaluate("e => e.scrollTop = e.scrollHeight")
    await page.wait_for_selector(f"#L{lines}:has-text('Done. Your build exited with 0.')")
    header = page.locator(".fold-header", has_text="Worker information").first
    await page.locator("#log").evaluate("e => e.scrollTop = 0")
    await header.locator(".fold-toggle").click()
    await page.wait_for_selector(".line:has-text('hostname: b76fa966')")

"""Search in the viewer page, in headless Chromium against a real `logstore serve`: Ctrl+F takes
you to the box; a word only near the end of a 50 MB log is found (also inside a closed fold),
every match counted, each one stepped to and shown; on a running log, matches in chunks that
arrive later are added. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Browser, Page

from benchmarks.harness.corpus import CORPUS
from benchmarks.harness.processes import serving
from tests.stream.conftest import ARTIFACTS
from tests.stream.test_viewer_browser import open_viewer, put_all

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
WORD = "zebrafish"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("viewer-search")
    with serving(f"sqlite:///{workdir}/logstore.db", workdir) as base:
        yield base


async def count(page: Page) -> tuple[str, str]:
    box = page.locator("#search-count")
    return (await box.get_attribute("data-current") or "", await box.get_attribute("data-total") or "")


async def current_line(page: Page) -> int:
    """The number of the line holding the current match, once it is drawn and in view."""
    mark = page.locator("mark.hit.current")
    await mark.wait_for()
    inside = await mark.evaluate(
        """m => { const r = m.getBoundingClientRect();
                 const v = document.getElementById('log').getBoundingClientRect();
                 return r.top >= v.top && r.bottom <= v.bottom; }"""
    )
    assert inside, "the current match is not scrolled into view"
    line_id = await mark.evaluate("m => m.closest('.line').id")
    return int(line_id[1:])


async def test_a_word_near_the_end_of_a_fifty_megabyte_log(
    server: str, browser: Browser, job_id: str
) -> None:
    text = (CORPUS / "travis" / "timing_info.log").read_bytes()
    copies = 50 * 1024 * 1024 // len(text) + 1
    last = text.replace(b"hostname: b76fa966", f"hostname: {WORD} b76fa966".encode())  # in a fold
    tail = f"a {WORD} here and a {WORD.upper()} there\nthe last {WORD}\n".encode()
    await put_all(server, job_id, text * (copies - 1) + last + tail, size=512 * 1024)
    page = await open_viewer(browser, server, job_id)
    await page.wait_for_selector("#status[data-state=ended]", timeout=180_000)
    lines = int(await page.get_attribute("#status", "data-lines") or 0)
    assert lines == 29 * copies + 2
    assert await page.locator(f".line:has-text('{WORD}')").count() == 2  # the tail's; the fold is closed
    await page.locator("#log").evaluate("e => e.scrollTop = 0")
    await page.wait_for_selector("#L1")

    await page.keyboard.press("Control+f")
    assert await page.evaluate("document.activeElement.id") == "search-input"
    await page.keyboard.type(WORD)
    await page.wait_for_function(
        "document.querySelector('#search-count').dataset.total === '4'", timeout=60_000
    )
    folded = 29 * (copies - 1) + 2  # the hostname line of the last copy, inside its closed fold
    assert await count(page) == ("1", "4")
    assert await current_line(page) == folded  # the fold was opened to show it
    assert WORD in await page.locator(f"#L{folded}").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "viewer-search-50mb-first.png"))
    seen = []
    for expected in ("2", "3", "4", "1"):
        await page.keyboard.press("Enter")
        await page.wait_for_function(
            f"document.querySelector('#search-count').dataset.current === '{expected}'"
        )
        seen.append(await current_line(page))
    assert seen == [lines - 1, lines - 1, lines, folded]  # two matches on one line, then wrap around
    assert await page.locator(f"#L{lines - 1} mark.hit").count() == 2  # case-insensitive, both marked
    await page.keyboard.press("Shift+Enter")
    await page.wait_for_function("document.querySelector('#search-count').dataset.current === '4'")
    assert await current_line(page) == lines
    await page.screenshot(path=str(ARTIFACTS / "viewer-search-50mb-last.png"))
    await page.click("#search-prev")
    await page.wait_for_function("document.querySelector('#search-count').dataset.current === '3'")


async def test_matches_are_added_as_chunks_arrive(server: str, browser: Browser, job_id: str) -> None:
    page = await open_viewer(browser, server, job_id)
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        assert (await client.put(f"/v1/jobs/{job_id}/chunks/0", content=b"boot\nfirst failure\n")).is_success
        await page.wait_for_function("document.querySelector('#status').dataset.lines === '2'")
        await page.fill("#search-input", "failure")
        await page.wait_for_function("document.querySelector('#search-count').dataset.total === '1'")
        assert await page.inner_text("#search-count") == "1 / 1"
        chunks = [b"ok\nsecond fail", b"ure and a third failure\n", b"::group::Tests\nfourth failure\n"]
        totals = ["1", "3", "4"]  # a match split across chunks counts once its line is complete
        for clock, (chunk, total) in enumerate(zip(chunks, totals, strict=True), 1):
            assert (await client.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=chunk)).is_success
            await page.wait_for_function(
                f"document.querySelector('#search-count').dataset.total === '{total}'"
            )
        assert await page.inner_text("#search-count") == "1 / 4"
        await page.press("#search-input", "Enter")
        await page.press("#search-input", "Enter")
        await page.press("#search-input", "Enter")
        await page.wait_for_function("document.querySelector('#search-count').dataset.current === '4'")
        assert await current_line(page) == 6  # inside the still-open group: its fold was opened
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "viewer-search-live.png"))
        await client.put(f"/v1/jobs/{job_id}/chunks/4", content=b"done\n", params={"final": "true"})
    await page.wait_for_selector("#status[data-state=ended]")
    assert await count(page) == ("4", "4")

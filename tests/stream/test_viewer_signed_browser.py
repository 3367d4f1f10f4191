"""The viewer page of a private job opened in headless Chromium with a signed URL minted by the
server: the page's script carries the signature to the tail and the raw download, and a secret
split across two chunks that arrived out of order shows as `***`. Without the signature the page
is 404."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser

from benchmarks.harness.processes import serving
from tests.polling import GENEROUS_S
from tests.stream.conftest import ADMIN, ARTIFACTS, SIGNING_KEY, WRITE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

SECRET = "AKIA-very-secret-key-42"
PIECES = [
    b"\x1b[32mdeploying\x1b[0m\naws configure set key AKIA-very-",
    b"secret-key-42\nAKIA-very-secret-key-42!\n",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("viewer-signed")
    flags = ["--write-token", WRITE, "--admin-token", ADMIN, "--url-signing-key", SIGNING_KEY]
    with serving(f"sqlite:///{workdir}/db.sqlite", workdir, *flags) as base:
        yield base


async def test_a_signed_viewer_url_shows_a_private_log_with_its_secret_masked(
    server: str, browser: Browser, job_id: str
) -> None:
    async with httpx.AsyncClient(
        base_url=server, headers={"Authorization": f"Bearer {WRITE}"}, timeout=GENEROUS_S
    ) as client:
        assert (await client.put(f"/v1/jobs/{job_id}/secrets", json={"secrets": [SECRET]})).status_code == 200
        for clock in (1, 0):  # the secret is split across the two chunks; the second one comes first
            params = {"private": "true", "final": str(clock == 1).lower()}
            response = await client.put(
                f"/v1/jobs/{job_id}/chunks/{clock}", content=PIECES[clock], params=params
            )
            assert response.status_code == 201
        minted = await client.post(
            f"/v1/jobs/{job_id}/signed-url", headers={"Authorization": f"Bearer {ADMIN}"}
        )
        unknown = await client.get(f"/jobs/{job_id[:-1]}0")
        assert (await client.get(f"/jobs/{job_id}")).content == unknown.content  # a job not started yet
    page = await browser.new_page()
    page.set_default_timeout(GENEROUS_S * 1000)
    assert (await page.goto(f"{server}/jobs/{job_id}")).status == 200  # type: ignore[union-attr]
    await page.wait_for_timeout(1500)  # its tail stays silent: nothing of the log shows
    assert "deploying" not in await page.locator("#log").inner_text()
    await page.goto(minted.json()["viewer_url"])
    await page.wait_for_selector("#status[data-state=ended]")
    assert await page.get_attribute("#status", "data-lines") == "3"
    assert await page.locator("#L2 .t").inner_text() == "aws configure set key ***"
    assert await page.locator("#L3 .t").inner_text() == "***!"
    assert SECRET not in await page.content()
    assert "AKIA" not in await page.locator("#log").inner_text()
    raw = await page.evaluate("fetch(document.getElementById('raw').href).then(r => r.text())")
    assert raw == "\x1b[32mdeploying\x1b[0m\naws configure set key ***\n***!\n"
    # search sees the masked log only; times come through the signed URL too
    await page.fill("#search-input", "AKIA")
    await page.wait_for_selector("#search-count:has-text('no matches')")
    await page.fill("#search-input", "***")
    await page.wait_for_function("document.querySelector('#search-count').dataset.total === '2'")
    await page.click("#times")
    await page.wait_for_selector("#times[data-loaded='2']")
    # the times are drawn on the next animation frame after they are loaded
    await page.wait_for_function("document.querySelectorAll('.line .ts').length === 3")
    assert all(text.count(":") == 2 for text in await page.locator(".line .ts").all_inner_texts())
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "viewer-signed-private.png"))

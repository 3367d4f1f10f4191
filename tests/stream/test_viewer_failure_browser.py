"""The viewer's "jump to the first error" in headless Chromium against a real `logstore serve`:
on real failed CI logs of the corpus (Travis CI, Buildkite) it lands on the line that says what
went wrong, opens the fold that holds it, and follows rules a platform team added by
configuration. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page

from benchmarks.harness.corpus import CORPUS
from benchmarks.harness.processes import serving
from tests.stream.conftest import ARTIFACTS
from tests.stream.test_viewer_browser import open_viewer, put_all

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("viewer-failure")
    rules = workdir / "rules.json"
    rules.write_text(json.dumps({"error": ["^PLATFORM-CHECK FAILED:"]}))
    with serving(f"sqlite:///{workdir}/logstore.db", workdir, "--error-patterns", str(rules)) as base:
        yield base


async def jump(browser: Browser, server: str, job_id: str, log: bytes, shot: str) -> tuple[Page, str]:
    await put_all(server, job_id, log, size=1000)
    page = await open_viewer(browser, server, job_id)
    await page.wait_for_selector("#status[data-state=ended]")
    await page.wait_for_selector("#jump-error[data-ready=true]")
    await page.click("#jump-error")
    row = page.locator(".line.failure")
    await row.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / shot))
    found = await page.get_attribute("#jump-error", "data-found")
    assert await row.get_attribute("id") == f"L{found}"
    return page, await row.inner_text()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # the first failing test in the output of `mvn package`, whose exit status failed the job
        ("travis/hikaricp-446093148-failed.log", "Errors: 1, Skipped: 0, Time elapsed: 1.37 s <<< FAILURE!"),
        # buildah's own error, above Buildkite's "The command exited with status 1"
        ("buildkite/buildah-build.sh.raw", "Error: creating build container: copying system image"),
    ],
    ids=["travis", "buildkite"],
)
async def test_the_jump_lands_on_the_failing_line_of_real_failed_logs(
    server: str, browser: Browser, job_id: str, path: str, expected: str
) -> None:
    _, text = await jump(
        browser, server, job_id, (CORPUS / path).read_bytes(), f"viewer-failure-{path.split('/')[0]}.png"
    )
    assert expected in text


async def test_the_jump_opens_the_fold_holding_the_line(server: str, browser: Browser, job_id: str) -> None:
    log = (
        b"::group::Install\nok\n::endgroup::\n::group::Run tests\ncollected 3 items\n"
        b'Traceback (most recent call last):\n  File "t.py", line 1\nValueError: bad\n::endgroup::\n'
        b"Error: Process completed with exit code 1.\n"
    )
    page, text = await jump(browser, server, job_id, log, "viewer-failure-fold.png")
    assert text.endswith("Traceback (most recent call last):")
    assert await page.locator(".fold-header.open", has_text="Run tests").count() == 1
    assert await page.locator(".fold-header.open", has_text="Install").count() == 0


async def test_rules_added_by_configuration_are_served_and_followed(
    server: str, browser: Browser, job_id: str
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        rules = (await client.get("/v1/error-rules")).json()
    assert rules["error"][-1] == "^PLATFORM-CHECK FAILED:"
    assert any("exited with" in pattern for pattern in rules["failed_command"])  # the defaults stay
    log = b"step one\nPLATFORM-CHECK FAILED: licence header missing\nmore output\nexited with code 3\n"
    _, text = await jump(browser, server, job_id, log, "viewer-failure-configured.png")
    assert text.endswith("PLATFORM-CHECK FAILED: licence header missing")


@pytest.mark.parametrize(
    "path",
    # real jobs that passed: Travis, and GitLab runner traces with sections (no false alarm)
    ["travis/timing_info.log", "gitlab/trace_with_sections", "gitlab/trace_with_duplicate_sections"],
    ids=["travis", "gitlab-sections", "gitlab-duplicate-sections"],
)
async def test_a_log_without_a_failure_says_so(server: str, browser: Browser, job_id: str, path: str) -> None:
    await put_all(server, job_id, (CORPUS / path).read_bytes(), size=4096)
    page = await open_viewer(browser, server, job_id)
    await page.wait_for_selector("#status[data-state=ended]")
    await page.wait_for_selector("#jump-error[data-ready=true]")
    await page.click("#jump-error")
    await page.wait_for_selector("#jump-error[data-found=none]")
    assert await page.inner_text("#jump-error") == "No error found"


def test_bad_rule_files_stop_the_start_with_a_clear_message(tmp_path: Path) -> None:
    from logstore.errors import ConfigError
    from stream.error_rules import load_rules

    for content, message in [
        ("not json", "cannot read"),
        ('{"eror": []}', "expected an object"),
        ('{"error": "FAILED"}', "list of non-empty strings"),
        ('{"error": ["(unclosed"]}', "not a valid regex"),
        ('{"error": ["(?<=x)y"]}', "JavaScript"),
    ]:
        path = tmp_path / "rules.json"
        path.write_text(content)
        with pytest.raises(ConfigError, match=message):
            load_rules(str(path))
    with pytest.raises(ConfigError, match="cannot read"):
        load_rules(str(tmp_path / "missing.json"))
    replaced = tmp_path / "only.json"
    replaced.write_text('{"replace": true, "error": ["^BAD"]}')
    assert load_rules(str(replaced)) == {"failed_command": [], "command_ok": [], "error": ["^BAD"]}

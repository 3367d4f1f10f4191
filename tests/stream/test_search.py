"""`GET /v1/jobs/{job_id}/search` on SQLite and Cassandra: grep's answer (line numbers, line and
match offsets) on running and compacted logs, across chunk and segment boundaries; regex and case
options; pages with cursors; secrets masked and private jobs refused exactly as on downloads;
hostile queries refused with 422 or run in bounded time."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from compactor.archive_job import ArchiveJob, Outcome
from logstore import url_signing
from logstore.config import CompactSettings
from logstore.store import LogStore
from stream.masking import mask
from tests.stream.conftest import SIGNING_KEY, WRITE

LINES = [f"step {i}: compiling module_{i % 7}.py\n".encode() for i in range(300)]
LINES[41] = b"ERROR: something broke in module_6.py\n"
LINES[250] = "error: naïve ünïcode broke\n".encode()
LOG = b"".join(LINES)


def pieces_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def push(api: httpx.AsyncClient, job_id: str, pieces: list[bytes], final: bool = True) -> None:
    for clock, piece in enumerate(pieces):
        last = final and clock == len(pieces) - 1
        response = await api.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=piece, params={"final": last})
        assert response.status_code == 201, response.text


async def compact(store: LogStore, job_id: str) -> None:
    settings = CompactSettings(segment_bytes=1024, grace_s=0.1)
    assert await ArchiveJob(store, settings, "search-test").run(job_id) is Outcome.COMPACTED
    assert len(await store.segment_refs(job_id)) > 5  # many segments: the search crosses them


async def search(
    api: httpx.AsyncClient, job_id: str, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await api.get(f"/v1/jobs/{job_id}/search", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jsonl")
    records = [json.loads(line) for line in response.text.splitlines()]
    *matches, end = records
    assert end["type"] == "end"
    assert end["matches"] == len(matches)
    return matches, end


def expected(data: bytes, pattern: bytes, flags: int = 0) -> list[tuple[int, int, int]]:
    """(line number, line offset, first match offset) of every matching line, computed here."""
    found, offset = [], 0
    for number, line in enumerate(data.split(b"\n"), 1):
        hit = re.search(pattern, line, flags)
        if hit and not (line == b"" and offset == len(data)):
            found.append((number, offset, offset + hit.start()))
        offset += len(line) + 1
    return found


def summary(matches: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    return [(int(m["line"]), int(m["offset"]), int(m["match_offset"])) for m in matches]


async def test_search_finds_lines_across_chunks_while_running_and_after_compaction(
    app_client: httpx.AsyncClient, any_store: LogStore, job_id: str
) -> None:
    await push(app_client, job_id, pieces_of(LOG, 97), final=False)  # words split between chunks
    running, end = await search(app_client, job_id, q="module_6")
    assert summary(running) == expected(LOG, rb"module_6")
    assert len(running) == 42
    assert end["next_cursor"] is None
    assert end["complete"] is False
    assert running[0]["text"] == "step 6: compiling module_6.py"
    first = running[0]
    assert LOG[int(first["match_offset"]) : int(first["match_offset"]) + 8] == b"module_6"
    await app_client.put(
        f"/v1/jobs/{job_id}/chunks/{len(pieces_of(LOG, 97))}", content=b"", params={"final": True}
    )
    await compact(any_store, job_id)
    archived, end = await search(app_client, job_id, q="module_6")
    assert archived == running
    assert end["complete"] is True


async def test_regex_and_case_options(app_client: httpx.AsyncClient, job_id: str) -> None:
    await push(app_client, job_id, pieces_of(LOG, 500))
    sensitive, _ = await search(app_client, job_id, q="error")
    assert [m["line"] for m in sensitive] == [251]
    insensitive, _ = await search(app_client, job_id, q="ERROR", case="insensitive")
    assert summary(insensitive) == expected(LOG, rb"error", re.IGNORECASE)
    assert insensitive[1]["text"] == "error: naïve ünïcode broke"
    assert insensitive[1]["spans"] == [[0, 5]]
    regex, _ = await search(app_client, job_id, q=r"^step 1\d: .*_[0-2]\.py$", regex="true")
    assert summary(regex) == expected(LOG, rb"^step 1\d: .*_[0-2]\.py$")
    assert len(regex) == 3  # steps 14, 15, 16
    literal, _ = await search(app_client, job_id, q="module_.")  # a substring: the dot is a dot
    assert literal == []
    spans, _ = await search(app_client, job_id, q="o", limit=1)
    assert spans[0]["spans"] == [[m.start(), m.end()] for m in re.finditer(b"o", LINES[0])]


async def test_pages_with_cursors_add_up_to_the_whole_answer(
    app_client: httpx.AsyncClient, job_id: str
) -> None:
    await push(app_client, job_id, pieces_of(LOG, 333))
    everything, _ = await search(app_client, job_id, q="compiling", limit=1000)
    assert len(everything) == 298  # two lines say something else
    pages, cursor = [], None
    while True:
        params: dict[str, object] = {"q": "compiling", "limit": 70}
        if cursor is not None:
            params["cursor"] = cursor
        page, end = await search(app_client, job_id, **params)
        pages += page
        cursor = end["next_cursor"]
        assert len(page) == 70 or cursor is None
        if cursor is None:
            break
    assert pages == everything


async def test_a_long_line_is_cut_around_its_match(app_client: httpx.AsyncClient, job_id: str) -> None:
    line = b"x" * 5000 + b" needle " + b"y" * 5000 + b"\n"
    await push(app_client, job_id, [b"before\n", line[:3000], line[3000:], b"after\n"])
    (match,), _ = await search(app_client, job_id, q="needle")
    assert (match["line"], match["offset"], match["match_offset"]) == (2, 7, 7 + 5001)
    assert match["truncated"] is True
    text, at = str(match["text"]), int(match["text_offset"])
    assert len(text) <= 400
    assert "needle" in text
    assert line[at : at + len(text)].decode() == text


SECRET = "hunter2-TOKEN-9f8e"
RAW = [b"cloning...\nexport TOKEN=hunter2-TO", b"KEN-9f8e\nusing hunter2-TOKEN-9f8e again\n", b"done\n"]


async def test_search_sees_the_masked_log_before_and_after_compaction(
    app_client: httpx.AsyncClient, any_store: LogStore, job_id: str
) -> None:
    assert (await app_client.put(f"/v1/jobs/{job_id}/secrets", json={"secrets": [SECRET]})).status_code == 200
    await push(app_client, job_id, RAW)
    masked = mask(b"".join(RAW), [SECRET.encode()])
    for _ in range(2):
        assert (await search(app_client, job_id, q="hunter2"))[0] == []
        assert (await search(app_client, job_id, q="9f8e"))[0] == []
        found, _ = await search(app_client, job_id, q="***")
        assert summary(found) == expected(masked, rb"\*\*\*") == [(2, 11, 24), (3, 28, 34)]
        assert [m["text"] for m in found] == ["export TOKEN=***", "using *** again"]
        paged, _ = await search(app_client, job_id, q="***", cursor="28.3")
        assert paged == found[1:]
        settings = CompactSettings(segment_bytes=1024, grace_s=0.1)
        if (await any_store.job_status(job_id)).state.value != "compacted":
            assert await ArchiveJob(any_store, settings, "search-test").run(job_id) is Outcome.COMPACTED


async def test_a_private_job_is_searched_only_with_credentials(
    secured: httpx.AsyncClient, job_id: str
) -> None:
    response = await secured.put(
        f"/v1/jobs/{job_id}/chunks/0",
        content=b"private needle\n",
        params={"final": True, "private": True},
        headers={"Authorization": f"Bearer {WRITE}"},
    )
    assert response.status_code == 201
    path = f"/v1/jobs/{job_id}/search?q=needle"
    hidden = await secured.get(path)
    unknown = await secured.get(f"/v1/jobs/{job_id}-unknown/search?q=needle")
    assert (hidden.status_code, unknown.status_code) == (404, 404)
    assert hidden.json()["error"] == unknown.json()["error"] == "not_found"
    key = SIGNING_KEY.encode()
    query = url_signing.signed_query(key, job_id, url_signing.expiry(600))
    allowed = await secured.get(f"{path}&{query}")
    assert allowed.status_code == 200
    assert json.loads(allowed.text.splitlines()[0])["line"] == 1
    other = url_signing.signed_query(key, f"{job_id}-other", url_signing.expiry(600))
    assert (await secured.get(f"{path}&{other}")).status_code == 403
    expired = url_signing.signed_query(key, job_id, url_signing.expiry(-10))
    assert (await secured.get(f"{path}&{expired}")).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {},
        {"q": "x" * 1001},
        {"q": "(unclosed", "regex": "true"},
        {"q": "((((a{1,100}){1,100}){1,100}){1,100})", "regex": "true"},  # beyond RE2's memory budget
        {"q": "x", "cursor": "nonsense"},
        {"q": "x", "cursor": "10.0"},
    ],
    ids=["empty q", "no q", "q too long", "invalid regex", "huge regex", "bad cursor", "line 0"],
)
async def test_bad_queries_are_422_invalid_search(
    app_client: httpx.AsyncClient, job_id: str, params: dict[str, str]
) -> None:
    await push(app_client, job_id, [b"some log\n"])
    response = await app_client.get(f"/v1/jobs/{job_id}/search", params=params)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_search"
    assert response.json()["message"]


async def test_a_backtracking_regex_runs_in_linear_time(app_client: httpx.AsyncClient, job_id: str) -> None:
    # `(a+)+$` takes exponential time in a backtracking engine on a line of a's ending in b; RE2
    # has no backtracking, so the page ends (pytest-timeout would stop a runaway search)
    await push(app_client, job_id, [b"a" * 20_000 + b"b\n", b"aaa\n"])
    found, end = await search(app_client, job_id, q="(a+)+$", regex="true")
    assert [m["line"] for m in found] == [2]
    assert end["stopped"] is None


async def test_a_page_out_of_time_ends_with_a_cursor_that_moves_on(
    app_client: httpx.AsyncClient, job_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stream.search_http.TIME_BUDGET_S", 0.0)  # every page stops after a piece
    monkeypatch.setattr("stream.download.WRITE_BYTES", 1)  # one piece per chunk, not joined reads
    long_line = b"compiling " + b"x" * 300 + b"\n"  # longer than a chunk: some pieces end no line
    log = LOG + long_line * 3
    await push(app_client, job_id, pieces_of(log, 200))
    found, cursor, pages = [], None, 0
    while True:
        params: dict[str, object] = {"q": "compiling", "limit": 1000}
        if cursor is not None:
            params["cursor"] = cursor
        page, end = await search(app_client, job_id, **params)
        found += page
        pages += 1
        cursor = end["next_cursor"]
        if cursor is None:
            assert end["stopped"] is None
            break
        assert end["stopped"] == "time"
    assert pages > 10
    assert summary(found) == expected(log, rb"compiling")

"""The search of an archived log agrees with `grep -n -b` run on the same bytes: the real CI logs
of corpus/ end to end, on SQLite and on Cassandra (correctness only; the timing is in
benchmarks/steps/search.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from benchmarks.harness.corpus import corpus_files
from compactor.archive_job import ArchiveJob, Outcome
from logstore.config import CompactSettings
from logstore.store import LogStore

QUERIES = [  # (API parameters, grep flags)
    ({"q": "error"}, ["-F", "error"]),
    ({"q": "Error", "case": "insensitive"}, ["-i", "-F", "Error"]),
    ({"q": "sha256:"}, ["-F", "sha256:"]),
    ({"q": r"[0-9]+\.[0-9]+ ?MB", "regex": "true"}, ["-E", r"[0-9]+\.[0-9]+ ?MB"]),
    ({"q": "^(Pulling|Step|\\$ )", "regex": "true"}, ["-E", "^(Pulling|Step|\\$ )"]),
    ({"q": "[a-z]{12,}$", "regex": "true"}, ["-E", "[a-z]{12,}$"]),
    ({"q": "travis_fold:end"}, ["-F", "travis_fold:end"]),
]


def corpus_log() -> bytes:
    return b"".join(path.read_bytes() for path in corpus_files())


def grep(path: Path, flags: list[str]) -> list[tuple[int, int]]:
    """(line number, line offset) of every line `grep -a -n -b` prints."""
    done = subprocess.run(
        ["grep", "-a", "-n", "-b", *flags, str(path)], capture_output=True, env={"LC_ALL": "C"}, check=False
    )
    assert done.returncode in (0, 1), done.stderr
    rows = []
    for line in done.stdout.split(b"\n")[:-1]:
        number, offset, _ = line.split(b":", 2)
        rows.append((int(number), int(offset)))
    return rows


async def all_pages(api: httpx.AsyncClient, job_id: str, params: dict[str, str]) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    cursor = None
    while True:
        query = {**params, "limit": "1000", **({"cursor": cursor} if cursor else {})}
        response = await api.get(f"/v1/jobs/{job_id}/search", params=query)
        assert response.status_code == 200, response.text
        *matches, end = [json.loads(line) for line in response.text.splitlines()]
        found += [(m["line"], m["offset"]) for m in matches]
        cursor = end["next_cursor"]
        if cursor is None:
            return found


async def test_search_of_an_archived_corpus_log_matches_grep(
    app_client: httpx.AsyncClient, any_store: LogStore, job_id: str, tmp_path: Path
) -> None:
    if shutil.which("grep") is None:
        pytest.fail("grep is missing")
    log = corpus_log()
    assert len(log) > 1_500_000
    source = tmp_path / "log"
    source.write_bytes(log)
    pieces = [log[i : i + 65_000] for i in range(0, len(log), 65_000)]
    for clock, piece in enumerate(pieces):
        final = clock == len(pieces) - 1
        response = await app_client.put(
            f"/v1/jobs/{job_id}/chunks/{clock}", content=piece, params={"final": final}
        )
        assert response.status_code == 201
    settings = CompactSettings(segment_bytes=128 * 1024, grace_s=0.1)
    assert await ArchiveJob(any_store, settings, "grep-test").run(job_id) is Outcome.COMPACTED
    for params, flags in QUERIES:
        expected = grep(source, flags)
        assert expected, f"{flags} finds nothing in the corpus: a useless case"
        assert await all_pages(app_client, job_id, params) == expected, flags

"""End to end through real processes: `logstore serve`, then `logstore push` of every corpus file
and `logstore cat` gives back identical bytes, on SQLite and on Cassandra."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tqdm import tqdm

from benchmarks.harness.corpus import corpus_files, split
from benchmarks.harness.processes import free_port, run_cli, serving
from tests.polling import GENEROUS_S
from tests.servers import require_cassandra


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)], scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp(f"serve-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{workdir}/logstore.db"
    else:
        url = require_cassandra()
        first = run_cli(["schema", "apply", "--store", url])
        again = run_cli(["schema", "apply", "--store", url])
        assert first.returncode == 0, first.stderr
        assert again.returncode == 0, again.stderr
        assert b"schema already current" in again.stdout
    with serving(url, workdir) as base:
        yield base


def test_push_then_cat_every_corpus_file_is_byte_identical(server: str, job_id: str) -> None:
    for index, path in enumerate(corpus_files()):
        job = f"{job_id}-{index}"
        pushed = run_cli(["push", "--job", job, "--chunk-size", "997", "--server", server, str(path)])
        assert pushed.returncode == 0, pushed.stderr
        catted = run_cli(["cat", job, "--server", server])
        assert catted.returncode == 0, catted.stderr
        assert catted.stdout == path.read_bytes(), path.name
        assert catted.stderr == b""  # complete: no warning


def test_push_from_stdin_with_a_progress_bar(server: str, job_id: str) -> None:
    source = b"".join(p.read_bytes() for p in corpus_files())  # about 1.7 MB
    pushed = run_cli(["push", "--job", job_id, "--progress", "--server", server, "-"], stdin=source)
    assert pushed.returncode == 0, pushed.stderr
    expected_chunks = -(-len(source) // (64 * 1024))  # the default chunk size
    assert f"pushed {expected_chunks} chunk(s)".encode() in pushed.stderr
    # the progress bar was drawn, and ended at the size sent (its speed depends on the machine)
    assert f"\r{tqdm.format_sizeof(len(source))}B [".encode() in pushed.stderr
    assert run_cli(["cat", job_id, "--server", server]).stdout == source


def test_shuffled_puts_with_duplicates_then_cat(server: str, job_id: str) -> None:
    source = (corpus_files()[0].parent / "docker-compose-pull.sh.raw").read_bytes()
    pieces = split(source, 1600)
    order = list(range(len(pieces))) + random.Random(5).sample(range(len(pieces)), len(pieces) // 5)
    random.Random(6).shuffle(order)
    with httpx.Client(base_url=server, timeout=GENEROUS_S) as client:  # httpx's default is 5 s
        for clock in order:
            params = {"final": "true"} if clock == len(pieces) - 1 else {}
            response = client.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=pieces[clock], params=params)
            assert response.status_code in (200, 201)
    assert run_cli(["cat", job_id, "--server", server]).stdout == source


def test_cli_errors_have_messages_and_exit_codes(server: str, job_id: str, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"hello\n")
    bad_id = run_cli(["push", "--job", "no spaces", "--server", server, str(log)])
    assert bad_id.returncode == 2
    assert b"job id 'no spaces' is invalid" in bad_id.stderr
    missing_file = run_cli(["push", "--job", job_id, "--server", server, str(tmp_path / "nope")])
    assert missing_file.returncode == 2
    unknown = run_cli(["cat", job_id, "--server", server])
    assert unknown.returncode == 1
    assert b"HTTP 404" in unknown.stderr
    assert unknown.stdout == b""
    nobody = f"http://127.0.0.1:{free_port()}"
    unreachable = run_cli(["push", "--job", job_id, "--retries", "2", "--server", nobody, str(log)])
    assert unreachable.returncode == 3
    assert b"cannot reach" in unreachable.stderr
    assert run_cli(["push", "--job", job_id, "--server", server, str(log)]).returncode == 0
    conflict = tmp_path / "other.txt"
    conflict.write_bytes(b"other\n")
    refused = run_cli(["push", "--job", job_id, "--server", server, str(conflict)])
    assert refused.returncode == 1
    assert b"HTTP 409" in refused.stderr
    assert run_cli(["cat", job_id, "--server", server]).stdout == b"hello\n"

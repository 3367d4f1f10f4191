"""The CLI half of the bad-input matrix: each mistake gets a one-line message on stderr and its
documented exit code (0 ok, 1 refused or not found, 2 bad usage or configuration, 3 unreachable),
and a refused push leaves the stored log as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.harness.processes import free_port, run_cli, serving

EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("cli-matrix")
    with serving(f"sqlite:///{workdir}/db.sqlite", workdir, "--max-chunk-bytes", "4096") as base:
        yield base


def nowhere() -> str:
    return f"http://127.0.0.1:{free_port()}"


CASES: list[tuple[str, list[str], int, str]] = [
    # (name, argv with {server}/{nowhere}, exit code, text expected on stderr)
    ("push: invalid job id", ["push", "--job", "bad id", "--server", "{server}", "-"], EXIT_USAGE, "job id"),
    (
        "push: chunk size 0",
        ["push", "--job", "j", "--chunk-size", "0", "--server", "{server}", "-"],
        EXIT_USAGE,
        "",
    ),
    (
        "push: missing file",
        ["push", "--job", "j", "--server", "{server}", "/no/such/file"],
        EXIT_USAGE,
        "file",
    ),
    (
        "push: server unreachable",
        ["push", "--job", "j", "--retries", "1", "--server", "{nowhere}", "-"],
        EXIT_UNREACHABLE,
        "",
    ),
    (
        "push: broker unreachable",
        ["push", "--job", "j", "--via", "amqp", "--bus", "amqp://guest:guest@127.0.0.1:1/", "-"],
        EXIT_UNREACHABLE,
        "",
    ),
    ("cat: unknown job", ["cat", "--server", "{server}", "never-pushed"], EXIT_REFUSED, "not found"),
    ("cat: invalid job id", ["cat", "--server", "{server}", "../etc"], EXIT_USAGE, "job id"),
    ("tail: invalid job id", ["tail", "--server", "{server}", "a/b"], EXIT_USAGE, "job id"),
    ("cat: server unreachable", ["cat", "--server", "{nowhere}", "j"], EXIT_UNREACHABLE, ""),
    (
        "tail: negative from-clock",
        ["tail", "--server", "{server}", "--from-clock", "-1", "j"],
        EXIT_USAGE,
        "",
    ),
    ("serve: unknown store scheme", ["serve", "--store", "bogus://x"], EXIT_USAGE, "store"),
    ("serve: listen address without a port", ["serve", "--listen", "nonsense"], EXIT_USAGE, "listen"),
    (
        "schema apply: Cassandra unreachable",
        ["schema", "apply", "--store", "cassandra://127.0.0.1:1/ks"],
        EXIT_UNREACHABLE,
        "",
    ),
    (
        "purge: age not a duration",
        ["purge", "--older-than", "soon", "--store", "sqlite:///unused.db"],
        EXIT_USAGE,
        "",
    ),
    # grep answers like grep: 2 for every error (0 found, 1 none)
    ("grep: invalid job id", ["grep", "--server", "{server}", "a/b", "x"], EXIT_USAGE, "job id"),
    ("grep: unknown job", ["grep", "--server", "{server}", "never-pushed", "x"], EXIT_USAGE, "not found"),
    ("grep: invalid regex", ["grep", "-E", "--server", "{server}", "j", "a(b"], EXIT_USAGE, "not a regex"),
    ("grep: server unreachable", ["grep", "--server", "{nowhere}", "j", "x"], EXIT_USAGE, "cannot reach"),
    ("unknown command", ["explode"], EXIT_USAGE, ""),
]


@pytest.mark.parametrize(("name", "argv", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_cli_mistakes_get_their_exit_code(
    server: str, tmp_path: Path, name: str, argv: list[str], code: int, message: str
) -> None:
    args = [a.replace("{server}", server).replace("{nowhere}", nowhere()) for a in argv]
    done = run_cli(args, stdin=b"some log\n", timeout=60)
    assert done.returncode == code, (done.stdout, done.stderr)
    assert message.lower() in done.stderr.decode().lower()
    assert b"Traceback" not in done.stderr


def test_a_refused_push_changes_nothing(server: str, job_id: str) -> None:
    push = ["push", "--job", job_id, "--server", server, "--no-final", "-"]
    assert run_cli(push, stdin=b"first\n").returncode == 0
    done = run_cli(push, stdin=b"other\n")
    assert done.returncode == EXIT_REFUSED
    assert "409" in done.stderr.decode()
    assert httpx.get(f"{server}/v1/jobs/{job_id}/log").content == b"first\n"

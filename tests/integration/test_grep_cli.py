"""`logstore grep` through real processes: prints what `grep -n -b` prints on the same bytes
(page after page), and answers with grep's exit codes: 0 found, 1 none, 2 error."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.harness.processes import run_cli, serving

FOUND, NONE, ERROR = 0, 1, 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("grep-cli")
    with serving(f"sqlite:///{workdir}/logstore.db", workdir) as base:
        yield base


def test_grep_prints_what_grep_prints_and_exits_like_grep(server: str, job_id: str, tmp_path: Path) -> None:
    log = b"".join(f"line {i}: {'FAILED' if i % 2 else 'ok'} test_{i}\n".encode() for i in range(2600))
    path = tmp_path / "log"
    path.write_bytes(log)
    pushed = run_cli(["push", "--job", job_id, "--chunk-size", "4000", "--server", server, str(path)])
    assert pushed.returncode == 0, pushed.stderr
    found = run_cli(["grep", "-n", "-b", job_id, "FAILED", "--server", server])
    assert found.returncode == FOUND, found.stderr
    reference = subprocess.run(["grep", "-n", "-b", "FAILED", str(path)], capture_output=True, check=True)
    assert found.stdout == reference.stdout
    assert found.stdout.count(b"\n") == 1300  # more than one page of 1000
    some = run_cli(["grep", "-m", "3", "-E", "-i", job_id, r"failed test_\d*9$", "--server", server])
    assert some.stdout.decode().splitlines() == [
        "line 9: FAILED test_9",
        "line 19: FAILED test_19",
        "line 29: FAILED test_29",
    ]
    none = run_cli(["grep", job_id, "no such words", "--server", server])
    assert (none.returncode, none.stdout) == (NONE, b"")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["never-pushed", "x"], "not found"),
        (["{job}", "(unclosed", "-E"], "HTTP 422: q is not a regex"),
        (["{job}", ""], "HTTP 422"),
        (["bad/id", "x"], "job id"),
    ],
    ids=["unknown job", "bad regex", "empty pattern", "invalid job id"],
)
def test_grep_errors_exit_2(server: str, job_id: str, argv: list[str], message: str) -> None:
    assert run_cli(["push", "--job", job_id, "--server", server, "-"], stdin=b"x\n").returncode == 0
    done = run_cli(["grep", *[a.replace("{job}", job_id) for a in argv], "--server", server])
    assert done.returncode == ERROR
    assert message in done.stderr.decode()
    assert b"Traceback" not in done.stderr


def test_grep_of_an_unreachable_server_exits_2() -> None:
    done = run_cli(["grep", "j", "x", "--server", "http://127.0.0.1:9"])
    assert done.returncode == ERROR
    assert "cannot reach" in done.stderr.decode()


def default_sigpipe() -> None:
    """In the child: SIGPIPE as a shell has it. Python ignores it, and a thread of the suite may
    have it blocked; both are inherited through exec, and either makes the real grep report a
    write error instead of dying of the signal."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGPIPE})


def piped_to_head(command: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -n 2"],
        capture_output=True,
        preexec_fn=default_sigpipe,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["grep", "cat"])
def test_a_reader_that_leaves_ends_it_quietly_as_it_ends_grep(
    server: str, job_id: str, tmp_path: Path, command: str
) -> None:
    # far more than a pipe holds: the writer is still writing when head has gone
    log = b"".join(f"line {i}: FAILED test_{i}\n".encode() for i in range(60_000))
    path = tmp_path / "log"
    path.write_bytes(log)
    pushed = run_cli(["push", "--job", job_id, "--chunk-size", "65536", "--server", server, str(path)])
    assert pushed.returncode == 0, pushed.stderr
    reference = {"grep": f"grep FAILED {path}", "cat": f"cat {path}"}[command]
    ours = {"grep": f"{job_id} FAILED", "cat": job_id}[command]
    expected = piped_to_head(reference)
    done = piped_to_head(f"{sys.executable} -m logstore.cli.main {command} {ours} --server {server}")
    assert expected.returncode == 128 + signal.SIGPIPE  # the reference did lose its reader
    assert (done.returncode, done.stdout, done.stderr) == (expected.returncode, expected.stdout, b"")

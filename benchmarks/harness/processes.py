"""Start real `logstore` processes for cross-process tests, and clean them up."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

LOGSTORE = [sys.executable, "-m", "logstore.cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_cli(
    args: Sequence[str], stdin: bytes | None = None, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*LOGSTORE, *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


# generous: a process starting on a loaded 2-core machine (imports, store and broker connections)
READY_WITHIN_S = 120.0


def wait_ready(
    base: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = READY_WITHIN_S
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"process exited early:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"not ready after {timeout} s:\n{log_path.read_text(errors='replace')[-3000:]}"
            )
        time.sleep(0.1)


class Role:
    """One `logstore <role>` process with its own HTTP port (API, /metrics, health)."""

    def __init__(self, role: str, workdir: Path, args: Sequence[str], env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{role}-{self.port}.log"
        self._command = [*LOGSTORE, role, "--listen", f"127.0.0.1:{self.port}", *args]
        self._workdir = workdir
        self._env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self._command, stdout=self._log, stderr=subprocess.STDOUT, cwd=self._workdir, env=self._env
        )

    def restart(self) -> Role:
        """Start the same command on the same port again (a supervisor's restart after a crash)."""
        if self.process.poll() is None:
            self.kill()
        self.process = self._spawn()
        return self

    def wait_ready(self) -> Role:
        wait_ready(self.base, self.process, self.log_path)
        return self

    def metrics(self) -> str:
        return httpx.get(f"{self.base}/metrics", timeout=30).text

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


def metric_value(text: str, name: str) -> float:
    """The sum of every sample of `name` (with any labels) in a Prometheus text page."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name)] in " {":
            total += float(line.rsplit(" ", 1)[1])
    return total


@contextmanager
def serving(store_url: str, workdir: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `logstore serve` on a free port until the block ends; yield its base URL. Its log is
    `workdir/serve-PORT.log`."""
    port = free_port()
    log = open(workdir / f"serve-{port}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [*LOGSTORE, "serve", "--store", store_url, "--listen", f"127.0.0.1:{port}", *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process, workdir / f"serve-{port}.log")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

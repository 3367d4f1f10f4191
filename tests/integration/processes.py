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
    args: Sequence[str], stdin: bytes | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*LOGSTORE, *args], input=stdin, capture_output=True, timeout=timeout, check=False)


@contextmanager
def serving(store_url: str, workdir: Path, *extra: str) -> Iterator[str]:
    """Run `logstore serve` on a free port until the block ends; yield its base URL."""
    port = free_port()
    log = open(workdir / f"serve-{port}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [*LOGSTORE, "serve", "--store", store_url, "--listen", f"127.0.0.1:{port}", *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"logstore serve exited: {(workdir / f'serve-{port}.log').read_text()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("logstore serve did not become ready in 30 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

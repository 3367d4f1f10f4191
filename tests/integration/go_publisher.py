"""The tests' AMQP worker in Go (tests/integration/amqp_publish_go/), a publisher that shares no
code with logstore's own: built into .cache/bin by scripts/go_publisher.sh, which `make servers`
runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from logstore.config import BusSettings

SOURCE = Path(__file__).resolve().parent / "amqp_publish_go"
CACHE = Path(os.environ.get("LOGSTORE_CACHE_DIR", SOURCE.parents[2] / ".cache"))
BINARY = CACHE / "bin" / "amqp-publish"
PUBLISH_WITHIN_S = 180  # connect, publish and wait for every confirm on a loaded machine


def require_go_publisher() -> Path:
    """The built publisher; the test fails (never skips) when it is missing or older than its source."""
    source_changed = max(path.stat().st_mtime for path in SOURCE.iterdir())
    if not BINARY.exists() or BINARY.stat().st_mtime < source_changed:
        pytest.fail(f"{BINARY} is missing or older than {SOURCE}: build it with scripts/go_publisher.sh")
    return BINARY


def go_publish(bus: BusSettings, job_id: str, log: Path, chunk_bytes: int) -> str:
    """Publish `log` as job `job_id` in chunks of `chunk_bytes`, the last one final, to the chunks
    exchange of `bus`; return the publisher's report once the broker has confirmed every chunk."""
    done = subprocess.run(
        [
            str(require_go_publisher()),
            *("-url", bus.urls[0], "-exchange", bus.chunks_exchange),
            *("-job", job_id, "-chunk-bytes", str(chunk_bytes), str(log)),
        ],
        capture_output=True,
        timeout=PUBLISH_WITHIN_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode().strip()

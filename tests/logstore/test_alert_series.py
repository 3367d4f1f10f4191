"""The counters the alerts read exist at 0 from start-up: Prometheus sees no increase in a series
that is born at 1, so the first viewer closed as too slow, or the first stored chunk after a
stall, would otherwise not count. Checked in a fresh interpreter, where nothing has counted yet
(in this one, earlier tests may have)."""

from __future__ import annotations

import subprocess
import sys

from logstore.store.interface import PutResult
from stream import close_codes

EXPOSE = (
    "import ingest.metrics, stream.metrics\n"
    "from prometheus_client import generate_latest\n"
    "print(generate_latest().decode())"
)


def fresh_exposition() -> list[str]:
    done = subprocess.run([sys.executable, "-c", EXPOSE], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_the_alerts_counters_start_at_zero() -> None:
    lines = fresh_exposition()
    for result in PutResult:
        assert f'logstore_ingest_chunks_total{{result="{result.value}"}} 0.0' in lines, result
    assert f'logstore_stream_tail_closed_total{{code="{close_codes.TOO_SLOW}"}} 0.0' in lines

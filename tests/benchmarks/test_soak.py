"""The soak (`make soak`, benchmarks/soak/) in a one-minute run on the real RabbitMQ and
Cassandra: jobs churn, viewers come and go, every log is compacted and checked byte for byte, every
process is sampled; and its verdict fails a run whose memory grows or whose descriptors leak."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.soak.results import Footprint
from benchmarks.soak.run import verdict
from tests.servers import require_cassandra, require_rabbitmq

PROCESSES = {
    "ingest-1",
    "ingest-2",
    "stream",
    "compact",
    "publisher-0",
    "publisher-1",
    "rabbitmq",
    "cassandra",
}


@pytest.mark.cassandra
@pytest.mark.rabbitmq
@pytest.mark.timeout(400)
def test_a_short_soak_checks_every_log_and_samples_every_process(tmp_path: Path) -> None:
    store, amqp = require_cassandra(), require_rabbitmq()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.soak", "--minutes", "1", "--sample-s", "15", "--rate", "40",
         "--viewers", "6", "--publishers", "2", "--store", store, "--bus", amqp, "--results", str(tmp_path)],
        capture_output=True, timeout=360, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-4000:]
    (folder,) = tmp_path.glob("soak-*")
    results = json.loads((folder / "soak.json").read_text())
    assert results["jobs"] > 0
    assert results["jobs"] == results["jobs_started"]
    assert results["logs"] == {"exact": results["jobs"], "differ": 0}
    assert results["chunks_sent"] >= 40 * 30  # a minute at 40/s (at least half of it, on any machine)
    viewers = results["viewers"]
    assert viewers["sessions"] > 0
    assert viewers["frames"] > 0
    assert viewers["wrong_bytes"] == 0
    assert viewers["out_of_order"] == 0
    assert len(results["samples"]) == 4  # every 15 s for a minute, the last 5 s before the end
    for row in results["samples"]:
        assert set(row["rss_mib"]) == PROCESSES
        assert all(rss > 0 for rss in row["rss_mib"].values())
        assert all(fds > 0 for fds in row["fds"].values())
        assert row["stored_per_s"] > 0
    assert (folder / "soak.png").stat().st_size > 10_000
    assert "0 differ" in (folder / "summary.md").read_text()


def _row(minute: float, rss: float, fds: int) -> Footprint:
    return {
        "minute": minute,
        "rss_mib": {"ingest": 100.0, "stream": rss},
        "fds": {"ingest": 40, "stream": fds},
    }


def test_the_verdict_compares_the_end_with_minute_ten() -> None:
    flat = [_row(m, 100.0, 40) for m in range(0, 61, 1)]
    assert verdict(flat)["rss_ok"]
    assert verdict(flat)["fds_ok"]
    warming = [
        _row(m, 60.0 if m < 10 else 100.0, 40) for m in range(0, 61)
    ]  # growth before minute 10 is fine
    assert verdict(warming)["rss_ok"]
    growing = [_row(m, 100.0 + m * 0.5, 40) for m in range(0, 61)]  # 105 at minute 10, 130 at the end
    judged = verdict(growing)
    assert not judged["rss_ok"]
    assert judged["processes"]["stream"]["rss_change"] == pytest.approx(130 / 105 - 1)
    leaking = [_row(m, 100.0, 40 + m) for m in range(0, 61)]  # one descriptor a minute: 50 -> 100
    assert verdict(leaking)["rss_ok"]
    assert not verdict(leaking)["fds_ok"]

"""The benchmark's quick profile as a smoke test, on the real Cassandra, RabbitMQ and PostgreSQL:
the run completes and its results are well-formed (every figure present and finite, the four
baselines there, plots and report written, every download, viewer and baseline log byte-exact).
It never judges a timing."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.check import BASELINES, problems
from tests.servers import require_cassandra, require_postgres, require_rabbitmq

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(400)]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store, amqp, postgres = require_cassandra(), require_rabbitmq(), require_postgres()
    folder = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--profile", "quick", "--results", str(folder),
         "--store", store, "--amqp", amqp, "--postgres", postgres],
        capture_output=True, timeout=360, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-4000:]
    return folder


def test_the_results_are_well_formed(quick_run: Path) -> None:
    results = json.loads((quick_run / "results.json").read_text())
    assert problems(results) == []
    assert results["problems"] == []
    assert set(results["baselines"]) == set(BASELINES)


def test_every_download_viewer_and_baseline_log_was_byte_exact(quick_run: Path) -> None:
    verification = json.loads((quick_run / "results.json").read_text())["verification"]
    assert verification == {
        "downloads_exact": True,
        "viewers_exact": True,
        "postgres_exact": True,
        "all_compacted": True,
        "http_put_stored": True,
        "big_download_exact": True,
        "half_peak_exact": True,
        "masked_reads_exact": True,
        "passed": True,
    }


def test_half_of_the_drain_peak_was_offered_by_several_publishers(quick_run: Path) -> None:
    ours = json.loads((quick_run / "results.json").read_text())["ours"]
    half = ours["half_peak"]
    peak = max(row["chunks_per_s"] for row in ours["backlog"] if row["chunk_bytes"] == 1600)
    assert half["peak_chunks_per_s"] == peak
    assert half["offered_chunks_per_s"] == half["jobs"] / 0.5
    assert abs(half["offered_chunks_per_s"] - peak / 2) <= 2  # jobs are whole: within one job's rate
    assert half["publishers"] == 3
    assert half["chunks"] == half["jobs"] * 6  # 3 s at one chunk per 500 ms, every chunk confirmed
    assert half["viewers"] == len(range(0, half["jobs"], 10))
    assert half["viewers_exact"] == half["viewers"]


def test_every_http_put_was_stored_and_both_drivers_drained(quick_run: Path) -> None:
    ours = json.loads((quick_run / "results.json").read_text())["ours"]
    assert [row["chunk_bytes"] for row in ours["http_put"]] == [1600, 16 * 1024]
    for row in ours["http_put"]:
        assert row["requests"] > 0
        assert row["requests"] <= row["stored"] <= row["requests"] + row["connections"]
    assert {row["driver"] for row in ours["backlog"]} == {"cassandra-driver", "acsylla"}
    assert all(row["complete"] for row in ours["backlog"])


def test_the_big_log_was_downloaded_whole_from_its_chunks_and_its_archive(quick_run: Path) -> None:
    ours = json.loads((quick_run / "results.json").read_text())["ours"]
    assert [row["chunk_bytes"] for row in ours["big_download"]] == [1600, 64 * 1024]
    for row in ours["big_download"]:
        assert row["exact"] is True
        assert row["mb"] == 2 * 1024 * 1024 / 1e6
        assert row["chunks"] == -(-2 * 1024 * 1024 // row["chunk_bytes"])


def test_ratios_are_finite_for_every_baseline(quick_run: Path) -> None:
    ratios = json.loads((quick_run / "results.json").read_text())["ratios"]
    for name in BASELINES:
        assert all(math.isfinite(value) and value > 0 for value in ratios[name].values()), name


def test_plots_and_report_are_written(quick_run: Path) -> None:
    results = json.loads((quick_run / "results.json").read_text())
    assert len(results["plots"]) == 4
    for name in results["plots"]:
        assert (quick_run / name).read_bytes().startswith(b"\x89PNG")
    report = (quick_run / "report.md").read_text()
    for heading in ("## Headline", "## Side by side", "## Live jobs"):
        assert heading in report

"""PNG plots of a run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.results import Results

LABELS = {
    "rabbitmq": "RabbitMQ alone",
    "cassandra_raw": "Cassandra alone",
    "pg_parts": "PostgreSQL log_parts",
    "pg_append": "PostgreSQL append",
}


def throughput(results: Results, path: Path) -> None:
    rows = results["ours"]["saturation"]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.plot([r["ingesters"] for r in rows], [r["chunks_per_s"] for r in rows], "o-", lw=2, label="logstore")
    for index, (key, label) in enumerate(LABELS.items()):
        rate = results["baselines"][key]["saturation"]["chunks_per_s"]
        axes.axhline(rate, ls="--", color=f"C{index + 1}", label=f"{label} ({rate:,.0f}/s)")
    axes.set_xlabel("ingester processes")
    axes.set_ylabel("sustained chunks/s (1.6 KB chunks)")
    axes.set_xticks([r["ingesters"] for r in rows])
    axes.set_title("Sustained ingest against ingesters, with the baselines")
    axes.set_ylim(bottom=0)
    axes.legend(fontsize=7, loc="center right")
    axes.grid(alpha=0.3)
    _save(figure, path)


def latency_cdf(results: Results, samples: dict[str, list[float]], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    jobs = results["ours"]["realistic"]["jobs"]
    point = next(p for p in results["ours"]["live_jobs"] if p["live_jobs"] == jobs)
    total = point["stored_buckets"][-1][1] if point["stored_buckets"] else 0
    if total > 0:  # the ingesters' histogram: one point per bucket bound
        bounds = [(bound * 1000, count / total) for bound, count in point["stored_buckets"]]
        axes.plot(*zip(*bounds, strict=True), "ks-", lw=2, label=f"logstore: publish -> stored ({jobs} jobs)")
    curves = {"ours_viewer": "logstore: publish -> viewer (with viewers, shared cores)"} | {
        key: f"{label}: publish -> stored" for key, label in LABELS.items()
    }
    for key, label in curves.items():
        values = sorted(v * 1000 for v in samples.get(key, []) if v > 0)
        if values:
            axes.plot(values, [(i + 1) / len(values) for i in range(len(values))], label=label)
    axes.set_xscale("log")
    axes.set_xlabel("latency, ms (log scale)")
    axes.set_ylabel("share of chunks")
    axes.set_title("Latency CDF at the realistic pace (1.6 KB per job every 500 ms)")
    axes.legend(fontsize=7, loc="lower right")
    axes.grid(alpha=0.3, which="both")
    _save(figure, path)


def compaction_ratio(results: Results, path: Path) -> None:
    rows = results["corpus_ratio"]
    figure, axes = plt.subplots(figsize=(8, 5))
    names = [r["file"] for r in rows]
    axes.barh(names, [r["ratio"] for r in rows], color="C0")
    axes.set_xlabel("raw / compressed (zstd level 6, 1 MiB segments of 1600-byte chunks)")
    axes.set_title("Compression ratio per corpus file, as the compactor archives it")
    axes.tick_params(axis="y", labelsize=7)
    axes.grid(alpha=0.3, axis="x")
    _save(figure, path)


def live_jobs(results: Results, path: Path) -> None:
    points = results["ours"]["live_jobs"]
    live = [p["live_jobs"] for p in points]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for values, label in (
        ([p["offered_chunks_per_s"] for p in points], "offered (2 chunks/s per job)"),
        ([p["published_chunks_per_s"] for p in points], "published with confirms"),
        ([p["stored_chunks_per_s"] for p in points], "stored"),
    ):
        axes.plot(live, values, "o-", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("live jobs")
    axes.set_ylabel("chunks/s")
    axes.set_title("Live jobs at the realistic pace: where it saturates")
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3, which="both")
    _save(figure, path)


def _save(figure: Any, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_all(results: Results, samples: dict[str, list[float]], folder: Path) -> list[Path]:
    paths = [
        folder / "throughput-vs-ingesters.png",
        folder / "latency-cdf.png",
        folder / "compaction-ratio.png",
        folder / "live-jobs.png",
    ]
    throughput(results, paths[0])
    latency_cdf(results, samples, paths[1])
    compaction_ratio(results, paths[2])
    live_jobs(results, paths[3])
    return paths

"""The soak's series as one PNG: memory and descriptors of every process, the queues and the
stored rate, and the latency percentiles, each against the minute of the run."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.soak.results import SoakResults


def soak_series(results: SoakResults, path: Path) -> None:
    samples = results["samples"]
    minutes = [row["minute"] for row in samples]
    figure, ((rss, fds), (flow, latency)) = plt.subplots(2, 2, figsize=(13, 8.5))
    for name in samples[0]["rss_mib"] if samples else []:
        rss.plot(minutes, [row["rss_mib"].get(name) for row in samples], label=name)
        fds.plot(minutes, [row["fds"].get(name) for row in samples], label=name)
    rss.set_ylabel("resident memory, MiB")
    rss.set_yscale("log")
    fds.set_ylabel("open file descriptors")
    fds.set_yscale("log")
    flow.plot(minutes, [row["stored_per_s"] for row in samples], label="stored chunks/s", color="C0")
    depth = flow.twinx()
    depth.plot(minutes, [row["queues"]["ingest"] for row in samples], label="ingest queue", color="C3")
    depth.plot(minutes, [row["queues"]["compact"] for row in samples], label="compact queue", color="C4")
    depth.set_ylabel("messages ready")
    flow.set_ylabel("stored chunks/s")
    depth.legend(fontsize=7, loc="lower right")
    for values, label in (
        ([row["stored_p50_ms"] for row in samples], "publish->stored p50"),
        ([row["stored_p99_ms"] for row in samples], "publish->stored p99"),
        ([row["sent_p50_ms"] for row in samples], "stored->sent p50"),
        ([row["sent_p99_ms"] for row in samples], "stored->sent p99"),
    ):
        latency.plot(minutes, values, label=label)
    latency.set_ylabel("ms (per interval)")
    latency.set_yscale("log")
    for axes in (rss, fds, flow, latency):
        axes.set_xlabel("minute")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7, loc="upper left")
    figure.suptitle(
        f"soak: {results['rate_per_s']:.0f} chunks/s offered for {results['options']['minutes']:g} min"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)

"""One benchmark run, start to end: the baselines, our pipeline at saturation (1, 2, 4 ingesters),
at the realistic pace with viewers, downloads and compaction, and the live-jobs curve. Returns the
results as one JSON-ready dict (its shape: results.py)."""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from benchmarks.baselines import suite
from benchmarks.harness.deployment import Deployment
from benchmarks.harness.fleet import PACE_S, corpus_texts, make_fleet
from benchmarks.harness.sysinfo import machine, peak_rss_mib
from benchmarks.results import BASELINES, LivePoint, Ours, Ratio, Results
from benchmarks.steps import archive_phase, ours
from benchmarks.steps.big_download import big_download
from benchmarks.steps.compression import compress
from benchmarks.steps.context import BenchContext
from benchmarks.steps.half_peak import half_peak
from benchmarks.steps.live_view import live_view
from benchmarks.steps.masked_reads import masked_reads
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.cassandra.schema import apply_schema
from logstore.store.cassandra.url import DRIVERS, parse_cassandra_url


class Run:
    def __init__(self, ctx: BenchContext, say: Callable[[str], None]) -> None:
        self.ctx = ctx
        self.say = say
        self.results: dict[str, Any] = {
            "profile": ctx.profile.name,
            "tag": ctx.tag,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "steps_s": {},
            "ours": {},
            "baselines": {},
        }
        self.samples: dict[str, list[float]] = {}  # latency samples for the CDF plot, seconds

    async def step(self, name: str, work: Callable[[], Awaitable[Any]]) -> Any:
        self.say(f"{name} ...")
        started = time.perf_counter()
        value = await work()
        self.results["steps_s"][name] = round(time.perf_counter() - started, 1)
        self.say(f"{name}: {self.results['steps_s'][name]} s")
        return value

    async def execute(self) -> Results:
        started = time.perf_counter()
        await apply_schema(parse_cassandra_url(self.ctx.store_url))
        baselines = self.results["baselines"]
        baselines["rabbitmq"] = await self.step("baseline rabbitmq", lambda: suite.rabbitmq_alone(self.ctx))
        baselines["cassandra_raw"] = await self.step(
            "baseline cassandra", lambda: suite.cassandra_raw(self.ctx)
        )
        rows = []
        for count in self.ctx.profile.sat_ingesters:
            rows.append(
                await self.step(f"ours saturation x{count}", partial(ours.saturation, self.ctx, count))
            )
        self.results["ours"]["saturation"] = rows
        drains = []
        for size in self.ctx.profile.chunk_sizes:
            for driver in DRIVERS:  # the write path's driver, chosen by this evidence
                drain = partial(ours.backlog_drain, self.ctx, size, driver)
                drains.append(await self.step(f"ours backlog {size} B via {driver}", drain))
        self.results["ours"]["backlog"] = drains
        peak = max(d["chunks_per_s"] for d in drains if d["chunk_bytes"] == 1600)
        self.results["ours"]["half_peak"] = await self.step(
            "ours at half of peak", partial(half_peak, self.ctx, peak)
        )
        self.results["ours"]["http_put"] = [
            await self.step(f"ours http put {size} B", partial(ours.http_put, self.ctx, size))
            for size in self.ctx.profile.http_sizes
        ]
        self.results["ours"]["big_download"] = [
            await self.step(f"ours big log download {size} B chunks", partial(big_download, self.ctx, size))
            for size in self.ctx.profile.big_log_chunk_sizes
        ]
        self.results["ours"]["masked_reads"] = await self.step(
            "ours masked reads", partial(masked_reads, self.ctx)
        )
        baselines["pg_parts"] = await self.step("baseline pg_parts", lambda: suite.pg_parts(self.ctx))
        baselines["pg_append"] = await self.step("baseline pg_append", lambda: suite.pg_append(self.ctx))
        await self.step("ours realistic, downloads, compaction", self._realistic)
        points = []
        for live in self.ctx.profile.live_points:
            points.append(await self.step(f"live jobs {live}", partial(ours.live_jobs_point, self.ctx, live)))
        self.results["ours"]["live_jobs"] = points
        for key in BASELINES:
            self.samples[key] = baselines[key].pop("latencies")
        self.results["ours"]["peak_rss_mib"]["bench"] = peak_rss_mib(os.getpid())
        self.results["ours"]["peak_rss_mib"]["baseline_consumer"] = max(
            float(baselines[k].get("peak_rss_mib", 0.0)) for k in BASELINES
        )
        self.results["corpus_ratio"] = [
            {"file": name, "bytes": len(text), "ratio": len(text) / compress(text, 6, None)[0]}
            for name, text in corpus_texts()
        ]
        self.results["ours"]["sustained"] = max(rows, key=lambda r: r["chunks_per_s"])
        self.results["ratios"] = ratios(self.results)
        self.results["verification"] = verification(self.results)
        self.results["wall_s"] = round(time.perf_counter() - started, 1)
        self.results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        # assembled step by step from the steps' dicts: its shape is checked by check.problems
        return cast(Results, self.results)

    async def _realistic(self) -> None:
        ctx = self.ctx
        deployment = Deployment(ctx.bus.namespaced(f"{ctx.tag}-real"), ctx.store_url, ctx.workdir)
        jobs = make_fleet(f"{ctx.tag}-real", ctx.profile.real_jobs, int(ctx.profile.real_seconds / PACE_S))
        store = await CassandraStore.connect(ctx.store_url)
        ours_results = self.results["ours"]
        try:
            deployment.start("ingest", ctx.profile.real_ingesters)
            deployment.start("stream", 1)
            ours_results["realistic"], self.samples["ours_viewer"] = await live_view(ctx, deployment, jobs)
            base = deployment.streamers[0].base
            downloads = {"chunks": await archive_phase.download_all(base, jobs, zstd=False)}
            ours_results["compaction"] = await archive_phase.compact_all(ctx, deployment, store, jobs)
            downloads["archive_plain"] = await archive_phase.download_all(base, jobs, zstd=False)
            downloads["archive_zstd"] = await archive_phase.download_all(base, jobs, zstd=True)
            ours_results["downloads"] = downloads
        finally:
            await deployment.stop()
            await store.close()
        ours_results["peak_rss_mib"] = dict(deployment.peaks)


def _ratio(ours_value: float, base_value: float) -> float:
    if not (math.isfinite(ours_value) and math.isfinite(base_value)) or base_value <= 0:
        return math.nan
    return ours_value / base_value


def like_baselines(figures: Ours) -> LivePoint:
    """Our latency under the baselines' conditions: the live-jobs point with as many jobs as the
    realistic run and no viewers (the baselines have none either)."""
    jobs = figures["realistic"]["jobs"]
    return next(p for p in figures["live_jobs"] if p["live_jobs"] == jobs)


def ratios(results: dict[str, Any]) -> dict[str, Ratio]:
    """Ours / baseline for each figure both have: throughput > 1 and latency < 1 favour us."""
    sustained = results["ours"]["sustained"]
    realistic = like_baselines(results["ours"])
    out: dict[str, Ratio] = {}
    for key, base in results["baselines"].items():
        saturation, latency = base["saturation"], base["realistic"]
        out[key] = {
            "chunks_per_s": _ratio(sustained["chunks_per_s"], saturation["chunks_per_s"]),
            "mb_per_s": _ratio(sustained["mb_per_s"], saturation["mb_per_s"]),
            "stored_p50_ms": _ratio(realistic["stored_p50_ms"], latency["p50_ms"]),
            "stored_p95_ms": _ratio(realistic["stored_p95_ms"], latency["p95_ms"]),
            "stored_p99_ms": _ratio(realistic["stored_p99_ms"], latency["p99_ms"]),
        }
    return out


def verification(results: dict[str, Any]) -> dict[str, object]:
    ours_results = results["ours"]
    downloads_exact = all(d["jobs_exact"] == d["jobs"] for d in ours_results["downloads"].values())
    realistic = ours_results["realistic"]
    viewers_exact = realistic["viewers_exact"] == realistic["viewers"]
    pg = [results["baselines"][k] for k in ("pg_parts", "pg_append")]
    pg_exact = all(b["verified_jobs"] == b["checked_jobs"] for b in pg)
    compaction = ours_results["compaction"]
    compacted = compaction["jobs_compacted"] == compaction["jobs"]
    # every PUT answered created one chunk, none failed. wrk counts the answers it read before its
    # time was up; the last request of each connection may have been stored without being counted.
    http_stored = all(
        row["errors"] == 0 and row["requests"] <= row["stored"] <= row["requests"] + row["connections"]
        for row in ours_results.get("http_put", [])
    )
    big_exact = bool(ours_results.get("big_download")) and all(
        row["exact"] for row in ours_results.get("big_download", [])
    )
    masked = ours_results.get("masked_reads", {})
    masked_exact = bool(masked) and (
        masked["alone_exact"]
        and masked["viewers_exact"] == masked["viewers"]
        and masked["load_exact"] == masked["load_requests"]
        and masked["load_errors"] == 0
    )
    half = ours_results.get("half_peak", {})
    half_exact = bool(half) and half["viewers_exact"] == half["viewers"] and half["publish_errors"] == 0
    return {
        "downloads_exact": downloads_exact,
        "viewers_exact": viewers_exact,
        "postgres_exact": pg_exact,
        "all_compacted": compacted,
        "http_put_stored": http_stored,
        "big_download_exact": big_exact,
        "half_peak_exact": half_exact,
        "masked_reads_exact": masked_exact,
        "passed": downloads_exact
        and viewers_exact
        and pg_exact
        and compacted
        and http_stored
        and big_exact
        and half_exact
        and masked_exact,
    }


def new_tag() -> str:
    return f"b{uuid.uuid4().hex[:8]}"

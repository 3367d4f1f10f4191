"""Our pipeline at the realistic pace with viewers: J jobs each sending a 1.6 KB chunk every
500 ms, K ingesters, one streamer, V websocket viewers whose tails all follow their jobs before
the jobs start.

Measures publish -> stored (the ingesters' histogram of the sender's sent_at), publish -> viewer
(per chunk and viewer, here), time to first log line (a job's first send to its first byte at a
viewer), streamer connections and RSS; checks every viewer got its log byte for byte. The
deployment is left running: downloads and compaction (archive_phase) use the same jobs."""

from __future__ import annotations

import asyncio
import os
import time

from benchmarks.harness.deployment import Deployment
from benchmarks.harness.fleet import PACE_S, JobLog, run_fleet
from benchmarks.harness.processes import Role, metric_value
from benchmarks.harness.quantiles import bucket_quantile, histogram_quantile, percentile
from benchmarks.harness.sysinfo import cpu_seconds, machine_cores_busy, machine_ticks, rss_mib
from benchmarks.harness.viewer import Watched, watch
from benchmarks.steps.context import BenchContext
from logstore.bus.publisher import ChunkPublisher

STORED_TO_SENT = "logstore_stream_stored_to_sent_seconds"


async def all_following(streamer: Role, count: int, timeout_s: float = 120) -> float:
    """Viewers whose tail has joined its job's live feed, once all of them have (or at the
    timeout). Connected is not enough: a viewer is counted as connected when it is admitted,
    before its tail has subscribed, and a job started then reaches it only through a store read."""
    deadline = time.monotonic() + timeout_s
    while True:
        page = await asyncio.to_thread(streamer.metrics)
        following = metric_value(page, "logstore_stream_viewers_following")
        if following >= count or time.monotonic() > deadline:
            return following
        await asyncio.sleep(0.05)


async def live_view(
    ctx: BenchContext, deployment: Deployment, jobs: list[JobLog]
) -> tuple[dict[str, float], list[float]]:
    """Figures of the realistic run, and every publish -> viewer latency in seconds (for the CDF)."""
    streamer = deployment.streamers[0]
    per_job = ctx.profile.viewers_per_job
    viewers = [
        asyncio.create_task(watch(streamer.base, job.job_id, timestamps=True))
        for job in jobs
        for _ in range(per_job)
    ]
    arriving = time.monotonic()
    connected = await all_following(streamer, len(viewers))
    all_following_s = time.monotonic() - arriving
    rss_connected = rss_mib(streamer.process.pid)
    sent: dict[tuple[str, int], float] = {}
    publisher = await ChunkPublisher.connect(deployment.settings)

    async def sink(job_id: str, clock: int, data: bytes, final: bool, sent_at: float) -> None:
        sent[(job_id, clock)] = sent_at
        await publisher.publish(job_id, clock, data, final, sent_at)

    processes = {"stream": [streamer.process.pid], "ingest": [r.process.pid for r in deployment.ingesters]}
    processes["bench"] = [os.getpid()]
    cpu_before = {name: sum(cpu_seconds(p) for p in pids) for name, pids in processes.items()}
    ticks_before, started = machine_ticks(), time.monotonic()
    try:
        run = await run_fleet(jobs, sink, PACE_S)
    finally:
        await publisher.close()
    seen: list[Watched] = await asyncio.wait_for(asyncio.gather(*viewers), ctx.profile.real_seconds + 120)
    seconds = time.monotonic() - started
    ticks_after = machine_ticks()
    cpu = {
        f"cpu_share_{name}": (sum(cpu_seconds(p) for p in pids) - cpu_before[name]) / seconds
        for name, pids in processes.items()
    }
    rss_end = rss_mib(streamer.process.pid)
    buckets = await deployment.stored_latency_buckets()
    page = await asyncio.to_thread(streamer.metrics)
    sources = {job.job_id: job.source for job in jobs}
    exact = sum(1 for watched in seen if bytes(watched.data) == sources[watched.job_id])
    to_viewer = [at - sent[(w.job_id, clock)] for w in seen for clock, at in w.arrivals]
    first_line = [
        min(w.arrivals[0][1] for w in seen if w.job_id == job.job_id and w.arrivals) - run.started[job.job_id]
        for job in jobs
    ]
    figures = {
        "jobs": len(jobs),
        "chunks": run.sent,
        "ingesters": len(deployment.ingesters),
        "viewers": len(viewers),
        "viewers_connected": connected,
        "viewers_all_following_s": all_following_s,  # from the first connect to every tail following
        "viewers_exact": exact,
        "stored_p50_ms": bucket_quantile(buckets, 50) * 1000,
        "stored_p95_ms": bucket_quantile(buckets, 95) * 1000,
        "stored_p99_ms": bucket_quantile(buckets, 99) * 1000,
        "viewer_p50_ms": percentile(to_viewer, 50) * 1000,
        "viewer_p95_ms": percentile(to_viewer, 95) * 1000,
        "viewer_p99_ms": percentile(to_viewer, 99) * 1000,
        "first_line_p50_ms": percentile(first_line, 50) * 1000,
        "first_line_p95_ms": percentile(first_line, 95) * 1000,
        "first_line_max_ms": max(first_line) * 1000,
        "stored_to_socket_p50_ms": histogram_quantile(page, STORED_TO_SENT, 50) * 1000,
        "stored_to_socket_p99_ms": histogram_quantile(page, STORED_TO_SENT, 99) * 1000,
        "streamer_store_reads": metric_value(page, "logstore_stream_store_reads_total"),
        "streamer_viewer_lags": metric_value(page, "logstore_stream_viewer_lag_total"),
        # CPU used over the run, in cores (1.0 = one core busy all the time)
        **cpu,
        "cpu_share_machine": machine_cores_busy(ticks_before, ticks_after),
        "streamer_rss_mib_connected": rss_connected,
        "streamer_rss_mib_end": rss_end,
        "streamer_kib_per_viewer": max(0.0, rss_connected - deployment_baseline_rss(deployment))
        * 1024
        / max(1, len(viewers)),
    }
    return figures, to_viewer


def deployment_baseline_rss(deployment: Deployment) -> float:
    """The streamer's RSS before any viewer connected (recorded when it started)."""
    return deployment.idle_rss.get("stream", 0.0)

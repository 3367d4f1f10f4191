"""Our pipeline at half of its measured peak: the 1.6 KB backlog drain of this same run sets the
peak (one ingester), and half of it is offered as paced jobs (one 1.6 KB chunk every 500 ms each)
by PUBLISHERS processes, to one ingester and one streamer, with one viewer on every VIEWER_EVERY-th
job following before the jobs start.

Measures publish -> stored (the ingester's histogram of the sender's sent_at) and the time to the
first log line (a job's first send to its first byte at its viewer); checks every viewer got its
log byte for byte."""

from __future__ import annotations

import asyncio

from benchmarks.harness.deployment import Deployment
from benchmarks.harness.fleet import PACE_S, fleet_slice
from benchmarks.harness.paced_publisher import PUBLISHERS, run_publishers
from benchmarks.harness.quantiles import bucket_quantile, merge_buckets, percentile
from benchmarks.harness.sysinfo import machine_cores_busy, machine_ticks
from benchmarks.harness.viewer import Watched, watch
from benchmarks.steps.context import BenchContext
from benchmarks.steps.live_view import all_following

VIEWER_EVERY = 10


async def half_peak(ctx: BenchContext, peak_chunks_per_s: float) -> dict[str, float]:
    rate = peak_chunks_per_s / 2
    jobs_n = max(PUBLISHERS, round(rate * PACE_S))
    chunks = max(2, int(ctx.profile.half_peak_seconds / PACE_S))
    tag = f"{ctx.tag}-half"
    deployment = Deployment(ctx.bus.namespaced(tag), ctx.store_url, ctx.workdir)
    try:
        await asyncio.to_thread(deployment.start, "ingest", 1)
        await asyncio.to_thread(deployment.start, "stream", 1)
        streamer = deployment.streamers[0]
        watched = fleet_slice(tag, 0, jobs_n, chunks)[::VIEWER_EVERY]
        viewers = [asyncio.create_task(watch(streamer.base, job.job_id, timestamps=True)) for job in watched]
        await all_following(streamer, len(viewers))
        before = await deployment.stored_latency_buckets()
        ticks_before = machine_ticks()
        _, outputs = await run_publishers(deployment.settings, tag, jobs_n, chunks)
        seen: list[Watched] = await asyncio.wait_for(asyncio.gather(*viewers), 120)
        ticks_after = machine_ticks()
        after = await deployment.stored_latency_buckets()
    finally:
        await deployment.stop()
    buckets = merge_buckets(after, minus=before)
    started = {job: at for out in outputs for job, at in out["started"].items()}
    sources = {job.job_id: job.source for job in watched}
    first_line = [w.arrivals[0][1] - started[w.job_id] for w in seen if w.arrivals and w.job_id in started]
    sent = sum(int(out["sent"]) for out in outputs)
    seconds = chunks * PACE_S
    return {
        "peak_chunks_per_s": peak_chunks_per_s,
        "offered_chunks_per_s": jobs_n / PACE_S,
        "sent_chunks_per_s": sent / seconds,
        "jobs": jobs_n,
        "chunks": sent,
        "publishers": len(outputs),
        "publish_errors": sum(int(out["errors"]) for out in outputs),
        "viewers": len(seen),
        "viewers_exact": sum(1 for w in seen if bytes(w.data) == sources[w.job_id]),
        "stored_p50_ms": bucket_quantile(buckets, 50) * 1000,
        "stored_p95_ms": bucket_quantile(buckets, 95) * 1000,
        "stored_p99_ms": bucket_quantile(buckets, 99) * 1000,
        "first_line_p50_ms": percentile(first_line, 50) * 1000,
        "first_line_p99_ms": percentile(first_line, 99) * 1000,
        "cpu_share_machine": machine_cores_busy(ticks_before, ticks_after),
    }

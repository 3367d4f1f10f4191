"""Our pipeline under the two load shapes that need no viewers: sustained ingest at saturation
with K ingesters, and a timed window of L live jobs at the realistic pace."""

from __future__ import annotations

import asyncio
import time
import uuid

from benchmarks.harness.deployment import Deployment, wait_handled
from benchmarks.harness.fleet import CHUNK_BYTES, PACE_S, JobLog, corpus_texts, make_fleet, run_fleet
from benchmarks.harness.paced_publisher import run_publishers
from benchmarks.harness.quantiles import bucket_quantile, merge_buckets
from benchmarks.harness.workload import publish
from benchmarks.steps.context import BenchContext
from benchmarks.steps.http_ingest import http_put_load
from logstore.bus.publisher import ChunkPublisher

PUBLISHERS = 4  # connections filling a backlog, each with its own confirms


def _deployment(ctx: BenchContext, kind: str, driver: str | None = None) -> Deployment:
    tag = f"{ctx.tag}-{kind}-{uuid.uuid4().hex[:6]}"
    return Deployment(ctx.bus.namespaced(tag), with_driver(ctx.store_url, driver), ctx.workdir)


def with_driver(store_url: str, driver: str | None) -> str:
    """The store URL with its write path through `driver` (None: as given)."""
    if driver is None:
        return store_url
    return f"{store_url}{'&' if '?' in store_url else '?'}driver={driver}"


async def saturation(ctx: BenchContext, ingesters: int) -> dict[str, float]:
    """Publish the saturation fleet with confirms while K ingesters store it; time from the first
    publish to the last chunk stored."""
    deployment = _deployment(ctx, f"sat{ingesters}")
    jobs = make_fleet(f"{ctx.tag}-sat{ingesters}", ctx.profile.sat_jobs, ctx.profile.sat_chunks)
    total = sum(job.chunks for job in jobs)
    try:
        await asyncio.to_thread(deployment.start, "ingest", ingesters)
        publisher = await ChunkPublisher.connect(deployment.settings)
        try:
            cpu = deployment.ingest_cpu_s()
            publishing = asyncio.create_task(run_fleet(jobs, publisher.publish, None))
            complete = await wait_handled(deployment, total, ctx.profile.sat_timeout_s)
            done_at, cpu = time.time(), deployment.ingest_cpu_s() - cpu
            run = await publishing
        finally:
            await publisher.close()
        buckets = await deployment.stored_latency_buckets()
    finally:
        await deployment.stop()
    seconds = done_at - run.first_send
    return {
        "ingesters": ingesters,
        "chunks": total,
        "complete": float(complete),
        "seconds": seconds,
        "chunks_per_s": total / seconds,
        "mb_per_s": run.bytes / seconds / 1e6,
        "publish_chunks_per_s": run.sent / max(1e-9, run.last_done - run.first_send),
        "stored_p50_ms": bucket_quantile(buckets, 50) * 1000,
        "stored_p99_ms": bucket_quantile(buckets, 99) * 1000,
        "peak_rss_mib_ingester": deployment.peaks.get("ingest", float("nan")),
        "ingest_cpu_us_per_chunk": cpu / total * 1e6,
    }


async def backlog_drain(ctx: BenchContext, chunk_bytes: int, driver: str) -> dict[str, object]:
    """A pre-filled backlog (the profile's backlog jobs, their chunks interleaved in clock order,
    published by PUBLISHERS connections with confirms before any ingester runs), then one
    ingester (its write path through `driver`) started and timed until it has handled every
    message; its CPU from /proc."""
    profile = ctx.profile
    deployment = _deployment(ctx, f"drain{chunk_bytes}", driver)
    chunks = min(profile.backlog_chunks, max(profile.backlog_jobs, profile.backlog_bytes // chunk_bytes))
    per_job = max(1, chunks // profile.backlog_jobs)
    texts = len(corpus_texts())
    tag = f"{ctx.tag}-drain{chunk_bytes}"
    jobs = [JobLog(f"{tag}-{i:03d}", i % texts, per_job, chunk_bytes) for i in range(profile.backlog_jobs)]
    items = [
        (job.job_id, clock, job.piece(clock), clock == per_job - 1)
        for clock in range(per_job)
        for job in jobs
    ]
    try:
        publishers = [await ChunkPublisher.connect(deployment.settings) for _ in range(PUBLISHERS)]
        try:
            started = time.perf_counter()
            await asyncio.gather(*(publish(p, items[k::PUBLISHERS], 100) for k, p in enumerate(publishers)))
            publish_s = time.perf_counter() - started
        finally:
            for publisher in publishers:
                await publisher.close()
        await asyncio.to_thread(deployment.start, "ingest", 1)
        cpu, started = deployment.ingest_cpu_s(), time.perf_counter()
        complete = await wait_handled(deployment, len(items), profile.sat_timeout_s, poll_s=0.05)
        seconds, cpu = time.perf_counter() - started, deployment.ingest_cpu_s() - cpu
    finally:
        await deployment.stop()
    return {
        "chunk_bytes": chunk_bytes,
        "driver": driver,
        "chunks": len(items),
        "complete": float(complete),
        "publish_chunks_per_s": len(items) / publish_s,
        "seconds": seconds,
        "chunks_per_s": len(items) / seconds,
        "mb_per_s": len(items) * chunk_bytes / seconds / 1e6,
        "ingest_cpu_us_per_chunk": cpu / len(items) * 1e6,
    }


async def live_jobs_point(ctx: BenchContext, live_jobs: int) -> dict[str, object]:
    """`live_jobs` jobs at one chunk per 500 ms for a window, published by several processes
    (benchmarks/harness/paced_publisher.py: one Python publisher with confirms tops out near 1,200 chunks/s,
    below the larger points); what was offered, published, stored within the window, the backlog
    left at its end, and publish -> stored latency of the window."""
    window = ctx.profile.live_window_s
    deployment = _deployment(ctx, f"live{live_jobs}")
    tag = f"{ctx.tag}-live{live_jobs}"
    chunks = int(window / PACE_S)
    try:
        await asyncio.to_thread(deployment.start, "ingest", ctx.profile.live_ingesters)
        before, before_buckets = await deployment.handled(), await deployment.stored_latency_buckets()
        started, reports = await run_publishers(deployment.settings, tag, live_jobs, chunks, window)
        ended = time.time()
        after, after_buckets = await deployment.handled(), await deployment.stored_latency_buckets()
    finally:
        await deployment.stop()
    stored = after - before
    sent = sum(int(report["sent"]) for report in reports)
    buckets = merge_buckets(after_buckets, minus=before_buckets)
    seconds = ended - started
    return {
        "live_jobs": live_jobs,
        "window_s": seconds,
        "publishers": len(reports),
        "offered_chunks_per_s": live_jobs / PACE_S,
        "published_chunks_per_s": sent / seconds,
        "stored_chunks_per_s": stored / seconds,
        "stored_mb_per_s": stored * CHUNK_BYTES / seconds / 1e6,
        "backlog_chunks": max(0.0, sent - stored),
        # jobs that stopped: a confirm not received within 5 s (a worker would retry)
        "publish_errors": sum(int(report["errors"]) for report in reports),
        "stored_p50_ms": bucket_quantile(buckets, 50) * 1000,
        "stored_p95_ms": bucket_quantile(buckets, 95) * 1000,
        "stored_p99_ms": bucket_quantile(buckets, 99) * 1000,
        "stored_buckets": sorted([bound, count] for bound, count in buckets.items() if bound != float("inf")),
    }


async def http_put(ctx: BenchContext, chunk_bytes: int) -> dict[str, float]:
    """wrk PUTting new chunks into one `logstore ingest` (benchmarks/steps/http_ingest.py)."""
    deployment = _deployment(ctx, f"http{chunk_bytes}")
    try:
        return await http_put_load(ctx, deployment, chunk_bytes, ctx.profile.http_seconds)
    finally:
        await deployment.stop()

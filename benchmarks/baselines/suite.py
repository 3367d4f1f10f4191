"""Each baseline measured twice on the workload our pipeline gets: the saturation fleet (sustained
chunks/s) and the realistic fleet (publish -> stored latency). PostgreSQL results are read back
and checked byte for byte against the sources."""

from __future__ import annotations

import uuid

import asyncpg

from benchmarks.baselines.broker import ConsumerResult, through_consumer
from benchmarks.baselines.cassandra_raw import (
    BATCH_ROWS,
    DRIVERS,
    backlog_ceiling,
    cassandra_ceiling,
    installed,
)
from benchmarks.baselines.postgres_sinks import create_tables, drop_tables, tables
from benchmarks.harness.deployment import Deployment
from benchmarks.harness.fleet import PACE_S, FleetRun, JobLog, corpus_texts, make_fleet
from benchmarks.harness.quantiles import percentile
from benchmarks.steps.context import BenchContext

Figures = dict[str, object]


def _saturation_jobs(ctx: BenchContext, kind: str) -> list[JobLog]:
    return make_fleet(f"{ctx.tag}-{kind}-sat", ctx.profile.sat_jobs, ctx.profile.sat_chunks)


def _realistic_jobs(ctx: BenchContext, kind: str) -> list[JobLog]:
    chunks = int(ctx.profile.baseline_real_seconds / PACE_S)
    return make_fleet(f"{ctx.tag}-{kind}-real", ctx.profile.real_jobs, chunks)


def throughput(run: FleetRun, stored: int, last_stored: float, total: int) -> dict[str, float]:
    seconds = max(1e-9, last_stored - run.first_send)
    chunk_bytes = run.bytes / max(1, run.sent)
    return {
        "chunks": total,
        "stored": stored,
        "complete": float(stored >= total),
        "seconds": seconds,
        "chunks_per_s": stored / seconds,
        "mb_per_s": stored * chunk_bytes / seconds / 1e6,
    }


def latency(samples: list[float]) -> dict[str, float]:
    return {f"p{q}_ms": percentile(samples, q) * 1000 for q in (50, 95, 99)}


async def _consumer_baseline(ctx: BenchContext, kind: str, name: str) -> Figures:
    figures: Figures = {"name": name}
    peaks = []
    for mode, jobs, pace in (
        ("saturation", _saturation_jobs(ctx, kind), None),
        ("realistic", _realistic_jobs(ctx, kind), PACE_S),
    ):
        prefix = f"{ctx.tag}_{kind}_{mode[:4]}"
        deployment = Deployment(ctx.bus.namespaced(f"{prefix}-{uuid.uuid4().hex[:4]}"), "", ctx.workdir)
        pg = await asyncpg.connect(ctx.postgres_dsn) if kind != "ack" else None
        try:
            if pg:
                await create_tables(pg, prefix)
            result: ConsumerResult = await through_consumer(
                kind, deployment.settings, jobs, pace, ctx.workdir, ctx.postgres_dsn, prefix,
                ctx.profile.baseline_timeout_s,
            )  # fmt: skip
            total = sum(job.chunks for job in jobs)
            if mode == "saturation":
                figures["saturation"] = throughput(result.run, result.stored, result.last_stored, total)
                if pg:
                    figures["verified_jobs"], figures["checked_jobs"] = await _verify(pg, prefix, jobs)
            else:
                figures["realistic"] = latency(result.latencies)
                figures["latencies"] = result.latencies
            peaks.append(result.peak_rss_mib)
        finally:
            await deployment.stop()
            if pg:
                await drop_tables(pg, prefix)
                await pg.close()
    figures["peak_rss_mib"] = max(peaks)
    return figures


async def _verify(pg: asyncpg.Connection, prefix: str, jobs: list[JobLog]) -> tuple[int, int]:
    """Logs stored whole and byte-exact / logs whose final chunk was stored."""
    logs = tables(prefix)[0]
    rows = {r["job_id"]: bytes(r["content"]) for r in await pg.fetch(f"SELECT job_id, content FROM {logs}")}
    complete = [job for job in jobs if len(rows.get(job.job_id, b"")) >= job.size]
    return sum(1 for job in complete if rows[job.job_id] == job.source), len(complete)


async def rabbitmq_alone(ctx: BenchContext) -> Figures:
    return await _consumer_baseline(ctx, "ack", "RabbitMQ alone (publish with confirms, consume with acks)")


async def pg_append(ctx: BenchContext) -> Figures:
    return await _consumer_baseline(ctx, "pg_append", "PostgreSQL, one row per log (content || chunk)")


async def pg_parts(ctx: BenchContext) -> Figures:
    return await _consumer_baseline(ctx, "pg_parts", "PostgreSQL log_parts (travis-logs: batch 100 / 3 s)")


async def cassandra_raw(ctx: BenchContext) -> Figures:
    """The fleet's shape with every driver (the best is the ceiling of the ratios), its latency with
    the store's driver, and the backlog ceilings."""
    jobs = _saturation_jobs(ctx, "cql")
    total = sum(job.chunks for job in jobs)
    by_driver: dict[str, dict[str, float]] = {}
    for driver in (d for d in DRIVERS if installed(d)):
        run, _ = await cassandra_ceiling(ctx.store_url, _saturation_jobs(ctx, f"cql-{driver}"), None, driver)
        by_driver[driver] = throughput(run, run.sent, run.last_done, total)
    best = max(by_driver, key=lambda d: by_driver[d]["chunks_per_s"])
    _, latencies = await cassandra_ceiling(ctx.store_url, _realistic_jobs(ctx, "cql"), PACE_S)
    return {
        "name": f"Cassandra alone (the same chunk rows, minimal async loop, best driver: {best})",
        "saturation": by_driver[best],
        "saturation_by_driver": by_driver,
        "backlog": await backlog_ceilings(ctx),
        "realistic": latency(latencies),
        "latencies": latencies,
    }


async def backlog_ceilings(ctx: BenchContext) -> list[dict[str, object]]:
    """Every installed driver, one INSERT per chunk and per-partition batches, at each chunk size."""
    profile = ctx.profile
    rows: list[dict[str, object]] = []
    for size in profile.chunk_sizes:
        chunks = min(profile.backlog_chunks, max(profile.backlog_jobs, profile.backlog_bytes // size))
        count = profile.backlog_jobs
        per_job = max(1, chunks // count)
        for driver in (d for d in DRIVERS if installed(d)):
            for batch_rows in (1, BATCH_ROWS):
                tag = f"{ctx.tag}-raw-{size}-{driver}-{batch_rows}"
                texts = len(corpus_texts())
                jobs = [
                    JobLog(f"{tag}-{i:03d}", i % texts, per_job, size) for i in range(profile.backlog_jobs)
                ]
                figures = await backlog_ceiling(ctx.store_url, jobs, driver, batch_rows)
                rows.append({"chunk_bytes": size, "driver": driver, "rows_per_batch": batch_rows, **figures})
    return rows

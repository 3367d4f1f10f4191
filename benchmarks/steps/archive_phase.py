"""After the realistic run: download every log from its chunks, compact them all, download them
again from the archives (plain, and zstd passed through), each checked byte for byte against the
source. Compaction MB/s, wall: raw bytes archived over the time from launching the compactor (its
start-up included) to the last job compacted; busy: raw bytes over the time spent inside
archive_job (its histogram's sum; two jobs at a time per process). The ratio is raw / compressed
bytes of the archives."""

from __future__ import annotations

import asyncio
import io
import time
from urllib.parse import quote

import httpx
import zstandard

from benchmarks.harness.deployment import Deployment
from benchmarks.harness.fleet import JobLog
from benchmarks.harness.processes import metric_value
from benchmarks.steps.context import BenchContext
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.interface import JobState

DOWNLOADERS = 8  # concurrent downloads


async def download_all(base: str, jobs: list[JobLog], zstd: bool) -> dict[str, float]:
    """Every job's log through GET /v1/jobs/{id}/log; MB/s of log bytes delivered."""
    semaphore = asyncio.Semaphore(DOWNLOADERS)
    wire = 0
    exact = 0
    headers = {"Accept-Encoding": "zstd" if zstd else "identity"}

    async def one(client: httpx.AsyncClient, job: JobLog) -> None:
        nonlocal wire, exact
        async with semaphore, client.stream("GET", f"{base}/v1/jobs/{quote(job.job_id)}/log") as response:
            body = b"".join([part async for part in response.aiter_raw()])
            wire += len(body)
            if response.headers.get("content-encoding") == "zstd":
                reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True)
                body = reader.read()
            exact += body == job.source

    started = time.perf_counter()
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        await asyncio.gather(*(one(client, job) for job in jobs))
    seconds = time.perf_counter() - started
    raw = sum(job.size for job in jobs)
    return {
        "jobs": len(jobs),
        "jobs_exact": exact,
        "mb": raw / 1e6,
        "wire_mb": wire / 1e6,
        "seconds": seconds,
        "mb_per_s": raw / seconds / 1e6,
    }


async def compact_all(
    ctx: BenchContext, deployment: Deployment, store: CassandraStore, jobs: list[JobLog]
) -> dict[str, object]:
    started = time.perf_counter()  # from the launch: the compactor works as soon as it is up
    await asyncio.to_thread(deployment.start, "compact", 1)
    pending = {job.job_id for job in jobs}
    deadline = time.monotonic() + 300
    while pending and time.monotonic() < deadline:
        for job_id in list(pending):
            if (await store.job_status(job_id)).state is JobState.COMPACTED:
                pending.discard(job_id)
        if pending:
            await asyncio.sleep(0.25)
    seconds = time.perf_counter() - started
    page = await asyncio.to_thread(deployment.compactors[0].metrics)
    bytes_in = metric_value(page, "logstore_compactor_bytes_in_total")
    bytes_out = metric_value(page, "logstore_compactor_bytes_out_total")
    busy = metric_value(page, "logstore_compactor_duration_seconds_sum")
    by_file: dict[str, list[float]] = {}
    for job in jobs:
        info = await store.archive_info(job.job_id)
        if info is not None and info.compressed_bytes:
            by_file.setdefault(job.corpus_name, []).append(info.raw_bytes / info.compressed_bytes)
    return {
        "jobs": len(jobs),
        "jobs_compacted": len(jobs) - len(pending),
        "raw_mb": bytes_in / 1e6,
        "compressed_mb": bytes_out / 1e6,
        "ratio": bytes_in / max(1.0, bytes_out),
        "seconds": seconds,
        "mb_per_s": bytes_in / seconds / 1e6,
        "busy_mb_per_s": bytes_in / max(1e-9, busy) / 1e6,
        "ratio_by_file": {name: sum(r) / len(r) for name, r in sorted(by_file.items())},
    }

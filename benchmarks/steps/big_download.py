"""One big log on Cassandra (100 MiB in the full profile, the corpus's real CI logs repeated),
stored as chunks of one size, downloaded whole through a real `logstore serve` by curl (a C
client, so the client is not what is measured): from its chunks, then, after compaction, from its
archive. Throughput and time to the first byte of the best of a few downloads; every download is
compared byte for byte with the log."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import quote

from benchmarks.harness.corpus import split
from benchmarks.harness.processes import serving
from benchmarks.steps.context import BenchContext
from benchmarks.steps.search import build_log
from compactor.archive_job import ArchiveJob, Outcome
from logstore.chunk import Chunk
from logstore.config import CompactSettings
from logstore.store.cassandra.backend import CassandraStore

CALL_BYTES = 1024 * 1024  # chunk bytes per put_chunks call while the log is written
CALLS_IN_FLIGHT = 4


async def big_download(ctx: BenchContext, chunk_bytes: int) -> dict[str, object]:
    log = build_log(ctx.profile.big_log_bytes)
    job = f"{ctx.tag}-big{chunk_bytes}"
    pieces = split(log, chunk_bytes)
    store = await CassandraStore.connect(ctx.store_url)
    try:
        await write_log(store, job, pieces)
        with serving(ctx.store_url, ctx.workdir) as base:
            from_chunks = await _downloads(base, job, log, ctx.workdir, ctx.profile.big_log_downloads)
        outcome = await ArchiveJob(store, CompactSettings(grace_s=0.1), "bench").run(job)
        if outcome is not Outcome.COMPACTED:
            raise RuntimeError(f"compaction of the big log: {outcome}")
        with serving(ctx.store_url, ctx.workdir) as base:
            from_archive = await _downloads(base, job, log, ctx.workdir, ctx.profile.big_log_downloads)
    finally:
        await store.close()
    return {
        "chunk_bytes": chunk_bytes,
        "chunks": len(pieces),
        "mb": len(log) / 1e6,
        "from_chunks": from_chunks,
        "from_archive": from_archive,
        "exact": bool(from_chunks["exact"] and from_archive["exact"]),
    }


async def write_log(store: CassandraStore, job: str, pieces: list[bytes]) -> None:
    per_call = max(1, CALL_BYTES // max(1, len(pieces[0])))
    last = len(pieces) - 1
    chunks = [Chunk(job, clock, piece, final=clock == last) for clock, piece in enumerate(pieces)]
    calls = [chunks[i : i + per_call] for i in range(0, len(chunks), per_call)]
    final = calls.pop()  # the final chunk last: nothing may be stored after it
    semaphore = asyncio.Semaphore(CALLS_IN_FLIGHT)

    async def put(chunks: list[Chunk]) -> None:
        async with semaphore:
            await store.put_chunks(chunks)

    await asyncio.gather(*(put(chunks) for chunks in calls))
    await store.put_chunks(final)


async def _downloads(base: str, job: str, log: bytes, workdir: Path, runs: int) -> dict[str, float]:
    """The best of `runs` downloads: MB/s and first byte (ms); exact = 1.0 when all were exact."""
    rates, first_bytes, exact = [], [], True
    target = workdir / f"big-{job}.log"
    for _ in range(runs):
        first_byte_s, total_s = await _curl(f"{base}/v1/jobs/{quote(job)}/log", target)
        exact = exact and target.read_bytes() == log
        rates.append(len(log) / total_s / 1e6)
        first_bytes.append(first_byte_s * 1000)
        target.unlink()
    return {
        "mb_per_s": max(rates),
        "first_byte_ms": min(first_bytes),
        "mb_per_s_worst": min(rates),
        "first_byte_ms_worst": max(first_bytes),
        "exact": 1.0 if exact else 0.0,
    }


async def _curl(url: str, target: Path) -> tuple[float, float]:
    """(time to the first byte, total time) of one GET, as curl measures them."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        "curl", "--silent", "--show-error", "--fail", "--header", "Accept-Encoding: identity",
        "--output", str(target), "--write-out", "%{time_starttransfer} %{time_total}", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"curl {url}: exit {process.returncode}: {err.decode(errors='replace')}")
    first_byte, total = (float(x) for x in out.split())
    if total <= 0:
        total = time.perf_counter() - started
    return first_byte, total

"""Masked reads on one streamer (issue 23): a big log (100 MiB in the full profile, chunks of
1 MiB) with 100 registered secrets on Cassandra, read through a real `logstore stream` process.

1. Each request alone, from this process (wall time at the client, CPU time of the streamer
   process): a `Range: bytes=0-0` with the masked log's index cold (the streamer's first read of
   the log), the same warm, a 1 MiB range in the middle, a tail reconnect 10 clocks from the end
   (to its first frame). The best of a few, each answer checked byte for byte.
2. Live viewers: LIVE_JOBS jobs without secrets, each sent a 1.6 KB chunk every LIVE_PACE_S
   through RabbitMQ and an ingester, followed by VIEWERS_PER_JOB websocket viewers each. Their
   frames' publish -> viewer latency is taken over a quiet window, then over a window in which
   another process (benchmarks/steps/masked_load.py) keeps 20 masked requests of the three kinds in
   flight against the same streamer. The difference is what masked reads cost live viewers.
   This process's own event-loop lag is sampled meanwhile: the viewers' figures are only as
   good as it.

    python -m benchmarks.steps.masked_reads [--profile quick|full] [--mib N] [--window-s S]  # this step alone
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import quote

import httpx
from websockets.asyncio.client import connect

from benchmarks.harness.deployment import Deployment
from benchmarks.harness.quantiles import bucket_quantile, histogram_buckets, merge_buckets, percentile
from benchmarks.harness.sysinfo import cpu_seconds, machine_cores_busy, machine_ticks
from benchmarks.harness.viewer import CLOCK, Watched, tail_url, watch
from benchmarks.steps.big_download import write_log
from benchmarks.steps.context import BenchContext
from benchmarks.steps.live_view import STORED_TO_SENT, all_following
from benchmarks.steps.masked_log import MaskedLog
from benchmarks.steps.profiles import PROFILES
from logstore.bus.publisher import ChunkPublisher
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.cassandra.schema import apply_schema
from logstore.store.cassandra.url import parse_cassandra_url

LOOP_LAG = "logstore_event_loop_lag_seconds"
PROTECTION_READ = "logstore_stream_protection_read_seconds"
SECRETS = 100
CONCURRENCY = 20
LIVE_JOBS = 10
VIEWERS_PER_JOB = 2
LIVE_PACE_S = 0.1
LIVE_CHUNK = b"x" * 1599 + b"\n"
REPEATS = 3


async def masked_reads(ctx: BenchContext) -> dict[str, Any]:
    log = MaskedLog(ctx.profile.masked_log_bytes, SECRETS)
    job = f"{ctx.tag}-masked"
    store = await CassandraStore.connect(ctx.store_url)
    try:
        await store.add_secrets(job, log.secrets)
        await write_log(store, job, log.pieces)
    finally:
        await store.close()
    deployment = Deployment(ctx.bus.namespaced(f"{ctx.tag}-masked"), ctx.store_url, ctx.workdir)
    try:
        deployment.start("ingest", 1)
        deployment.start("stream", 1)
        streamer = deployment.streamers[0]
        alone = await _alone(streamer.base, streamer.process.pid, job, log)
        live = await _live(ctx, deployment, job, log)
    finally:
        await deployment.stop()
    return {"log_mb": len(log.raw) / 1e6, "secrets": SECRETS, "concurrency": CONCURRENCY, **alone, **live}


async def _alone(base: str, pid: int, job: str, log: MaskedLog) -> dict[str, Any]:
    url = f"{base}/v1/jobs/{quote(job, safe='')}/log"
    first, last = log.middle()
    frame = log.frame(log.reconnect_clock)
    exact = True

    async def ranged(api: httpx.AsyncClient, low: int, high: int) -> None:
        nonlocal exact
        answer = await api.get(url, headers={"Range": f"bytes={low}-{high}", "Accept-Encoding": "identity"})
        exact = exact and answer.status_code == 206 and answer.content == log.masked[low : high + 1]

    async def reconnect(_: httpx.AsyncClient) -> None:
        nonlocal exact
        clock = log.reconnect_clock
        async with connect(tail_url(base, job, clock), max_size=None, open_timeout=60) as socket:
            message = await socket.recv()
        exact = exact and isinstance(message, bytes) and message == CLOCK.pack(clock) + frame

    async def timed(api: httpx.AsyncClient, work: Any, repeats: int) -> dict[str, float]:
        walls, cpus = [], []
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), cpu_seconds(pid)
            await work(api)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((cpu_seconds(pid) - cpu) * 1000)
        return {"wall_ms": min(walls), "cpu_ms": median(cpus)}

    async with httpx.AsyncClient(timeout=600) as api:
        figures = {
            "cold_range_0_0": await timed(api, lambda a: ranged(a, 0, 0), 1),
            "range_0_0": await timed(api, lambda a: ranged(a, 0, 0), REPEATS),
            "range_1mib": await timed(api, lambda a: ranged(a, first, last), REPEATS),
            "reconnect": await timed(api, reconnect, REPEATS),
        }
    return {"alone": figures, "alone_exact": exact}


async def _live(ctx: BenchContext, deployment: Deployment, job: str, log: MaskedLog) -> dict[str, Any]:
    streamer = deployment.streamers[0]
    jobs = [f"{ctx.tag}-masked-live{i}" for i in range(LIVE_JOBS)]
    viewers = [
        asyncio.create_task(watch(streamer.base, j, timestamps=True))
        for j in jobs
        for _ in range(VIEWERS_PER_JOB)
    ]
    await all_following(streamer, len(viewers))
    publisher = await ChunkPublisher.connect(deployment.settings)
    sent: dict[tuple[str, int], float] = {}
    lags: list[tuple[float, float]] = []  # (when, this process's loop lag)
    stop = asyncio.Event()

    async def job_sender(job_id: str, offset: float) -> None:
        await asyncio.sleep(offset)
        clock = 0
        next_at = time.monotonic()
        while not stop.is_set():
            sent[(job_id, clock)] = time.time()
            await publisher.publish(job_id, clock, LIVE_CHUNK, False, sent[(job_id, clock)])
            clock += 1
            next_at += LIVE_PACE_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        sent[(job_id, clock)] = time.time()
        await publisher.publish(job_id, clock, LIVE_CHUNK, True, sent[(job_id, clock)])

    async def ticker() -> None:
        while not stop.is_set():
            at = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append((time.time(), time.perf_counter() - at - 0.005))

    async def hops() -> tuple[dict[float, float], ...]:
        """Ingester sent -> stored; streamer stored -> sent; the streamer's event-loop lag; its
        protection reads."""
        stored = await deployment.stored_latency_buckets()
        page = await asyncio.to_thread(streamer.metrics)
        return (
            stored,
            histogram_buckets(page, STORED_TO_SENT),
            histogram_buckets(page, LOOP_LAG),
            histogram_buckets(page, PROTECTION_READ),
        )

    senders = [asyncio.create_task(job_sender(j, i * LIVE_PACE_S / LIVE_JOBS)) for i, j in enumerate(jobs)]
    tick = asyncio.create_task(ticker())
    try:
        await asyncio.sleep(1.0)  # every sender under way
        quiet = (time.time(), time.time() + ctx.profile.masked_window_s)
        before_quiet = await hops()
        await asyncio.sleep(ctx.profile.masked_window_s)
        before_loaded = await hops()
        cpu, ticks = cpu_seconds(streamer.process.pid), machine_ticks()
        load, loaded = await _masked_load(streamer.base, job, log, ctx.profile.masked_window_s)
        streamer_cores = (cpu_seconds(streamer.process.pid) - cpu) / (loaded[1] - loaded[0])
        machine_cores = machine_cores_busy(ticks, machine_ticks())
        after_loaded = await hops()
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        await asyncio.gather(*senders, return_exceptions=True)
        await tick
    seen: list[Watched] = await asyncio.wait_for(asyncio.gather(*viewers), 120)
    await publisher.close()
    clocks = {j: sum(1 for k in sent if k[0] == j) for j in jobs}
    exact = sum(1 for w in seen if bytes(w.data) == LIVE_CHUNK * clocks[w.job_id])

    def frames(window: tuple[float, float]) -> list[float]:
        return [
            at - sent[(w.job_id, clock)]
            for w in seen
            for clock, at in w.arrivals
            if window[0] <= sent[(w.job_id, clock)] < window[1]
        ]

    def own_lag(window: tuple[float, float]) -> float:
        return percentile([lag for when, lag in lags if window[0] <= when < window[1]], 99) * 1000

    def hop_p99(
        after: tuple[dict[float, float], ...], before: tuple[dict[float, float], ...], k: int
    ) -> float:
        """p99 (ms) of histogram k of `hops` over the window between two snapshots."""
        return bucket_quantile(merge_buckets(after[k], minus=before[k]), 99) * 1000

    quiet_frames, loaded_frames = frames(quiet), frames(loaded)
    times = load["times_ms"]
    return {
        "viewers": len(seen),
        "viewers_exact": exact,
        "quiet_frames": len(quiet_frames),
        "quiet_p50_ms": percentile(quiet_frames, 50) * 1000,
        "quiet_p99_ms": percentile(quiet_frames, 99) * 1000,
        "quiet_max_ms": max(quiet_frames) * 1000,
        "loaded_frames": len(loaded_frames),
        "loaded_p50_ms": percentile(loaded_frames, 50) * 1000,
        "loaded_p99_ms": percentile(loaded_frames, 99) * 1000,
        "loaded_max_ms": max(loaded_frames) * 1000,
        "quiet_stored_p99_ms": hop_p99(before_loaded, before_quiet, 0),
        "quiet_stored_to_sent_p99_ms": hop_p99(before_loaded, before_quiet, 1),
        "loaded_stored_p99_ms": hop_p99(after_loaded, before_loaded, 0),
        "loaded_stored_to_sent_p99_ms": hop_p99(after_loaded, before_loaded, 1),
        "quiet_streamer_loop_lag_p99_ms": hop_p99(before_loaded, before_quiet, 2),
        "loaded_streamer_loop_lag_p99_ms": hop_p99(after_loaded, before_loaded, 2),
        "quiet_protection_read_p99_ms": hop_p99(before_loaded, before_quiet, 3),
        "loaded_protection_read_p99_ms": hop_p99(after_loaded, before_loaded, 3),
        "bench_loop_lag_p99_ms": max(own_lag(quiet), own_lag(loaded)),
        "loaded_streamer_cpu_cores": streamer_cores,
        "loaded_load_process_cpu_cores": load["cpu_cores"],
        "loaded_machine_cpu_cores": machine_cores,
        "load_requests": load["requests"],
        "load_exact": load["exact"],
        "load_errors": load["errors"],
        "load_first_error": load["first_error"],
        "load_requests_per_s": load["requests"] / load["seconds"],
        **{f"load_{kind}_p50_ms": percentile(t, 50) for kind, t in times.items() if t},
        **{f"load_{kind}_p99_ms": percentile(t, 99) for kind, t in times.items() if t},
    }


async def _masked_load(
    base: str, job: str, log: MaskedLog, seconds: float
) -> tuple[dict[str, Any], tuple[float, float]]:
    """Run the load process; its results and the window (unix times) in which it was loading."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.steps.masked_load", base, job, str(log.size), str(SECRETS),
        str(CONCURRENCY), str(seconds), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    line = await process.stderr.readline()
    if line.strip() != b"ready":
        rest = await process.stderr.read()
        raise RuntimeError(f"masked load process: {(line + rest).decode(errors='replace')}")
    started = time.time()
    out, err = await process.communicate()
    window = (started, time.time())
    if process.returncode != 0:
        raise RuntimeError(f"masked load process exit {process.returncode}: {err.decode(errors='replace')}")
    return json.loads(out), window


async def _main(args: argparse.Namespace) -> None:
    profile = PROFILES[args.profile]
    if args.mib is not None:
        profile = dataclasses.replace(profile, masked_log_bytes=args.mib * 1024 * 1024)
    if args.window_s is not None:
        profile = dataclasses.replace(profile, masked_window_s=args.window_s)
    with tempfile.TemporaryDirectory() as workdir:
        from benchmarks.run import new_tag
        from benchmarks.steps.context import AMQP_URL, POSTGRES_DSN, STORE_URL

        ctx = BenchContext(profile, new_tag(), STORE_URL, AMQP_URL, POSTGRES_DSN, Path(workdir))
        await apply_schema(parse_cassandra_url(ctx.store_url))
        print(json.dumps(await masked_reads(ctx), indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--mib", type=int, help="the log's size instead of the profile's")
    parser.add_argument("--window-s", type=float, help="each window's length instead of the profile's")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()

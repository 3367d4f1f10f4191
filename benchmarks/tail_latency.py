"""Live tail latency and streamer memory with 1,000 viewers on 100 live jobs.

Two ingesters and one streamer on the real RabbitMQ and Cassandra; each job emits a chunk every
500 ms (the `realistic` profile of a CI worker) for --seconds; ten viewers per job follow it over
the websocket from this process. Reports:
  - stored -> written to the viewer's socket, p50/p99, from the streamer's own histogram;
  - publish -> received by the viewer, p50/p95/p99, measured here per chunk and viewer;
  - the streamer's RSS with every viewer connected, and at the end.
Results: results/tail-latency.{json,md} (gitignored).

    python -m benchmarks.tail_latency [--jobs 100] [--viewers-per-job 10] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
import uuid
from pathlib import Path

from benchmarks.processes import Role, metric_value
from benchmarks.quantiles import histogram_quantile, percentile
from benchmarks.viewer import watch
from benchmarks.workload import make_jobs
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings

RESULTS = Path(__file__).resolve().parent.parent / "results"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(args: argparse.Namespace) -> dict[str, float]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    settings = BusSettings(bus=args.amqp).namespaced(tag)
    workdir = RESULTS / "tail-logs"
    workdir.mkdir(parents=True, exist_ok=True)
    store = ["--store", args.store, "--log-level", "WARNING"]
    ingesters = [Role("ingest", workdir, store, settings.as_env()) for _ in range(2)]
    streamer = Role("stream", workdir, store, settings.as_env())
    for role in [*ingesters, streamer]:
        role.wait_ready()
    chunks = int(args.seconds / 0.5)
    jobs = make_jobs(tag, args.jobs, chunks, seed=7)
    publisher = await ChunkPublisher.connect(settings)
    published: dict[tuple[str, int], float] = {}
    try:
        viewers = [
            asyncio.create_task(watch(streamer.base, job.job_id, timestamps=True))
            for job in jobs
            for _ in range(args.viewers_per_job)
        ]
        while True:
            connected = metric_value(streamer.metrics(), "logstore_stream_viewers")
            if connected >= len(viewers):
                break
            await asyncio.sleep(0.2)
        rss_connected = rss_mib(streamer.process.pid)

        async def worker(index: int) -> None:
            job = jobs[index]
            await asyncio.sleep(0.5 * index / len(jobs))  # spread the jobs over the interval
            for clock, piece in enumerate(job.pieces):
                published[(job.job_id, clock)] = time.time()
                await publisher.publish(job.job_id, clock, piece, clock == len(job.pieces) - 1)
                await asyncio.sleep(0.5)

        await asyncio.gather(*(worker(i) for i in range(len(jobs))))
        results = await asyncio.wait_for(asyncio.gather(*viewers), args.seconds + 120)
        page = streamer.metrics()
        rss_end = rss_mib(streamer.process.pid)
    finally:
        await publisher.close()
        for role in [*ingesters, streamer]:
            role.stop()
    exact = sum(
        1
        for job_index, seen in enumerate(results)
        if bytes(seen.data) == jobs[job_index // args.viewers_per_job].source
    )
    latencies = [at - published[(seen.job_id, clock)] for seen in results for clock, at in seen.arrivals]
    name = "logstore_stream_stored_to_sent_seconds"
    return {
        "jobs": args.jobs,
        "viewers": len(results),
        "viewers_exact": exact,
        "chunks_per_job": chunks,
        "stored_to_sent_p50_ms": histogram_quantile(page, name, 50) * 1000,
        "stored_to_sent_p99_ms": histogram_quantile(page, name, 99) * 1000,
        "publish_to_viewer_p50_ms": percentile(latencies, 50) * 1000,
        "publish_to_viewer_p95_ms": percentile(latencies, 95) * 1000,
        "publish_to_viewer_p99_ms": percentile(latencies, 99) * 1000,
        "streamer_rss_mib_connected": rss_connected,
        "streamer_rss_mib_end": rss_end,
    }


def report(row: dict[str, float]) -> str:
    return (
        "\n".join(
            [
                f"Live tail: {row['viewers']} viewers on {row['jobs']} jobs, one chunk per job every 500 ms, "
                f"{row['chunks_per_job']} chunks per job; {row['viewers_exact']} viewers byte-exact",
                "",
                "| figure | value |",
                "|---|---|",
                f"| stored -> viewer socket p50 | {row['stored_to_sent_p50_ms']:.1f} ms |",
                f"| stored -> viewer socket p99 | {row['stored_to_sent_p99_ms']:.1f} ms |",
                f"| publish -> viewer p50 | {row['publish_to_viewer_p50_ms']:.1f} ms |",
                f"| publish -> viewer p95 | {row['publish_to_viewer_p95_ms']:.1f} ms |",
                f"| publish -> viewer p99 | {row['publish_to_viewer_p99_ms']:.1f} ms |",
                f"| streamer RSS, all viewers connected | {row['streamer_rss_mib_connected']:.0f} MiB |",
                f"| streamer RSS, end | {row['streamer_rss_mib_end']:.0f} MiB |",
            ]
        )
        + "\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--viewers-per-job", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--store", default="cassandra://127.0.0.1:9042/logstore_bench?consistency=ONE")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    arguments = parser.parse_args()
    result = asyncio.run(main(arguments))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tail-latency.json").write_text(json.dumps(result, indent=2))
    text = report(result)
    (RESULTS / "tail-latency.md").write_text(text)
    print(text)

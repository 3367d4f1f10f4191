"""Sustained ingest throughput with 1, 2 and 4 ingesters, on the real RabbitMQ and Cassandra.

For each ingester count: publish a backlog of chunks (jobs cut from the corpus, shuffled, 5%
duplicates) into a fresh queue with confirms, then start the ingesters and time how long they
take to drain it into the store until every job is complete. Sustained chunks/s = messages /
drain time. Results go to results/ingest-throughput.{json,md} (gitignored).

    python -m benchmarks.ingest_throughput [--jobs 200] [--chunks 300] [--ingesters 1,2,4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path

import aio_pika

from benchmarks.processes import Role, metric_value
from benchmarks.workload import make_jobs, messages, publish, wait_complete
from logstore.bus import topology
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.cassandra.schema import apply_schema
from logstore.store.cassandra.url import parse_cassandra_url

RESULTS = Path(__file__).resolve().parent.parent / "results"


async def run_one(
    count: int, args: argparse.Namespace, store: CassandraStore, workdir: Path
) -> dict[str, float]:
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    settings = BusSettings(bus=args.amqp).namespaced(tag)
    jobs = make_jobs(tag, args.jobs, args.chunks, seed=count)
    items = messages(jobs, 0.05, seed=count)
    publisher = await ChunkPublisher.connect(settings)
    started = time.perf_counter()
    await publish(publisher, items)
    publish_s = time.perf_counter() - started
    await publisher.close()
    env = settings.as_env()
    roles = [
        Role("ingest", workdir, ["--store", args.store, "--log-level", "WARNING"], env) for _ in range(count)
    ]
    for role in roles:
        role.wait_ready()
    started = time.perf_counter()  # the backlog is in the queue: time the drain only
    for _ in range(7_200):  # the ingesters' own counters, polled for at most an hour
        if _handled(roles) >= len(items):
            break
        await asyncio.sleep(0.5)
    drain_s = time.perf_counter() - started
    for role in roles:
        role.stop()
    incomplete = await wait_complete(store, jobs, within_s=60)
    await _delete(settings)
    if incomplete:
        raise RuntimeError(f"{len(incomplete)} jobs incomplete with {count} ingester(s)")
    size = sum(len(item[2]) for item in items)
    return {
        "ingesters": count,
        "messages": len(items),
        "bytes": size,
        "publish_msgs_per_s": len(items) / publish_s,
        "drain_s": drain_s,
        "chunks_per_s": len(items) / drain_s,
        "mb_per_s": size / drain_s / 1e6,
    }


def _handled(roles: list[Role]) -> float:
    """Messages the ingesters have finished with (stored, duplicate or refused)."""
    total = 0.0
    for role in roles:
        page = role.metrics()
        total += metric_value(page, "logstore_ingest_chunks_total")
        total += metric_value(page, "logstore_ingest_rejected_total")
    return total


async def _delete(settings: BusSettings) -> None:
    connection = await aio_pika.connect(settings.bus)
    async with connection:
        await topology.delete_all(await connection.channel(), settings)


async def main(args: argparse.Namespace) -> list[dict[str, float]]:
    await apply_schema(parse_cassandra_url(args.store))
    store = await CassandraStore.connect(args.store)
    workdir = RESULTS / "ingest-logs"
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return [await run_one(int(n), args, store, workdir) for n in args.ingesters.split(",")]
    finally:
        await store.close()


def report(rows: list[dict[str, float]], args: argparse.Namespace) -> str:
    lines = [
        f"Ingest throughput: {args.jobs} jobs x {args.chunks} chunks (100-400 B) + 5% duplicates, "
        "backlog drained from RabbitMQ into Cassandra",
        "",
        "| ingesters | messages | drain s | chunks/s | MB/s |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['ingesters']} | {row['messages']} | {row['drain_s']:.1f} | "
            f"{row['chunks_per_s']:.0f} | {row['mb_per_s']:.2f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=300)
    parser.add_argument("--ingesters", default="1,2,4")
    parser.add_argument("--store", default="cassandra://127.0.0.1:9042/logstore_bench?consistency=ONE")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    arguments = parser.parse_args()
    results = asyncio.run(main(arguments))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest-throughput.json").write_text(json.dumps(results, indent=2))
    text = report(results, arguments)
    (RESULTS / "ingest-throughput.md").write_text(text)
    print(text)

"""A baseline consumer process: takes chunk messages from the run's ingest queue and stores them
the baseline's way, acknowledging each after it is stored. Kinds:

  ack        RabbitMQ alone: acknowledge at once (consume with acks, no storage)
  pg_append  the talk's first design (postgres_sinks.AppendSink), one message at a time
  pg_parts   the travis-logs design (postgres_sinks.PartsSink)

It prints `ready` once consuming, stops after --expect messages or --timeout seconds, and writes
{stored, first_stored, last_stored, latencies, peak_rss_mib} as JSON to --out. Latency = the time
the chunk is stored (committed) minus the sender's `sent_at` header (same machine clock).

    python -m benchmarks.baselines.consumer --kind pg_parts --expect 20000 --out r.json (env: LOGSTORE_*)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from pathlib import Path

import aio_pika
import asyncpg
from aio_pika.abc import AbstractIncomingMessage

from benchmarks.baselines.postgres_sinks import AppendSink, Part, PartsSink
from benchmarks.harness.sysinfo import peak_rss_mib
from logstore.bus import topology
from logstore.bus.messages import decode_headers
from logstore.config import BusSettings

PREFETCH = {"ack": 400, "pg_append": 100, "pg_parts": 400}


class Tally:
    def __init__(self, expect: int) -> None:
        self.expect = expect
        self.stored = 0
        self.first = 0.0
        self.last = 0.0
        self.latencies: list[float] = []
        self.done = asyncio.Event()

    async def record(self, parts: list[Part]) -> None:
        now = time.time()
        for part in parts:
            await part.ack()
            self.latencies.append(now - part.sent_at)
        self.first = self.first or now
        self.last = now if parts else self.last
        self.stored += len(parts)
        if self.stored >= self.expect:
            self.done.set()


async def consume(args: argparse.Namespace) -> dict[str, object]:
    settings = BusSettings()
    tally = Tally(args.expect)
    pg = await asyncpg.connect(args.dsn) if args.kind != "ack" else None
    sink = (AppendSink if args.kind == "pg_append" else PartsSink)(pg, args.prefix) if pg else None
    connection = await aio_pika.connect(settings.bus)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=PREFETCH[args.kind])
    _, queue = await topology.declare_ingest(connection, channel, settings)
    lock = asyncio.Lock()  # one message stored at a time, in delivery order

    async def on_message(message: AbstractIncomingMessage) -> None:
        headers = decode_headers(message.headers)
        part = Part(
            str(headers.job_id), int(str(headers.clock)), message.body, headers.final,
            headers.sent_at or time.time(), message.ack,
        )  # fmt: skip
        async with lock:
            await tally.record(await sink.add(part) if sink else [part])

    async def ticker() -> None:
        while True:
            await asyncio.sleep(0.1)
            if sink:
                async with lock:
                    await tally.record(await sink.tick())

    tag = await queue.consume(on_message)
    ticking = asyncio.create_task(ticker())
    print("ready", flush=True)
    with contextlib.suppress(TimeoutError):  # a baseline that cannot keep up is cut off
        await asyncio.wait_for(tally.done.wait(), args.timeout)
    ticking.cancel()
    await queue.cancel(tag)
    await connection.close()
    if pg:
        await pg.close()
    return {
        "stored": tally.stored,
        "first_stored": tally.first,
        "last_stored": tally.last,
        "latencies": tally.latencies,
        "peak_rss_mib": peak_rss_mib(os.getpid()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kind", choices=sorted(PREFETCH), required=True)
    parser.add_argument("--dsn", default="")
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.write_text(json.dumps(asyncio.run(consume(args))))


if __name__ == "__main__":
    main()

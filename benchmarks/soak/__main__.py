"""`make soak` (python -m benchmarks.soak): the pipeline at half of its measured peak for an hour,
with jobs starting and ending, viewers coming and going and compaction running; a sample of every
process's memory and descriptors, the queues and the latency each minute; every log checked byte
for byte at the end. Writes soak.json, summary.md and soak.png under --results.

    python -m benchmarks.soak --minutes 60                   # the soak (about 75 minutes in all)
    python -m benchmarks.soak --minutes 2 --sample-s 10 --rate 40 --probe-seconds 0   # a smoke run

Exit status 0 when every log was exact, every viewer frame right and memory and descriptors held
(the RSS of every process at the end within 10% of minute 10, descriptors within 10 or 10%),
else 1.
Needs RabbitMQ and Cassandra on loopback (scripts/rabbitmq.sh, scripts/cassandra.sh)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import uvloop

from benchmarks.harness.deployment import Deployment
from benchmarks.harness.processes import run_cli
from benchmarks.soak.plots import soak_series
from benchmarks.soak.results import SoakResults
from benchmarks.soak.run import SoakOptions, soak
from benchmarks.soak.summary import passed, summary
from logstore.config import BusSettings

STORE = "cassandra://127.0.0.1:9042/logstore_soak?consistency=ONE"
BUS = "amqp://guest:guest@127.0.0.1:5672/"


def _say(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--sample-s", type=float, default=60.0, help="seconds between samples")
    parser.add_argument(
        "--rate", type=float, help="chunks/s to offer (default: half of the peak measured first)"
    )
    parser.add_argument("--probe-rate", type=float, default=3000.0, help="chunks/s offered to find the peak")
    parser.add_argument("--probe-seconds", type=float, default=40.0)
    parser.add_argument("--viewers", type=int, default=50, help="viewers at any time, each coming and going")
    parser.add_argument("--publishers", type=int, default=3, help="publisher processes")
    parser.add_argument("--store", default=STORE)
    parser.add_argument("--bus", default=BUS, help="broker URL(s), comma-separated")
    parser.add_argument("--results", type=Path, default=Path("results"))
    return parser


async def run(args: argparse.Namespace) -> SoakResults:
    tag = f"soak-{uuid.uuid4().hex[:8]}"
    settings = BusSettings(bus=args.bus).namespaced(tag)
    workdir = args.results / tag
    workdir.mkdir(parents=True, exist_ok=True)
    applied = await asyncio.to_thread(run_cli, ["schema", "apply", "--store", args.store], None, 300)
    if applied.returncode != 0:
        raise RuntimeError(f"schema apply failed: {applied.stderr.decode()}")
    deployment = Deployment(settings, args.store, workdir)
    options = SoakOptions(
        minutes=args.minutes,
        sample_s=args.sample_s,
        rate=args.rate,
        probe_rate=args.probe_rate,
        probe_seconds=args.probe_seconds,
        viewers=args.viewers,
        publishers=args.publishers,
    )
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        await asyncio.to_thread(deployment.start, "ingest", 2)
        await asyncio.to_thread(deployment.start, "stream", 1)
        await asyncio.to_thread(deployment.start, "compact", 1)
        measured = await soak(deployment, tag, options, _say)
    finally:
        await deployment.stop()
    results: SoakResults = {
        **measured,
        "tag": tag,
        "started_at": started_at,
        "store": args.store,
        "workdir": str(workdir),
    }
    (workdir / "soak.json").write_text(json.dumps(results, indent=1))
    (workdir / "summary.md").write_text(summary(results))
    soak_series(results, workdir / "soak.png")
    return results


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    results = uvloop.run(run(args))
    ok = passed(results)
    _say(f"soak {'passed' if ok else 'FAILED'}: {results['workdir']}/summary.md")
    print(summary(results))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

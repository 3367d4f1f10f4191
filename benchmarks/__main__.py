"""`python -m benchmarks` (or `logstore bench`): the load test of the whole pipeline, with the
baselines measured side by side in the same run, a results JSON, a markdown report and plots.

    python -m benchmarks --profile full [--results results/bench]   # about 10-15 minutes on 2 cores
    python -m benchmarks --profile quick                            # about 2 minutes: the smoke test

Needs Cassandra, RabbitMQ and PostgreSQL on loopback (scripts/cassandra.sh, rabbitmq.sh, postgres.sh).
Exit status 0 when the run completed and its results are well-formed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.check import problems
from benchmarks.options import add_arguments
from benchmarks.plots import write_all
from benchmarks.report import render
from benchmarks.run import Run, new_tag
from benchmarks.steps.context import BenchContext
from benchmarks.steps.profiles import PROFILES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logstore bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    return parser


def _say(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    tag = new_tag()
    folder: Path = args.results
    workdir = folder / "logs" / tag
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = BenchContext(PROFILES[args.profile], tag, args.store, args.amqp, args.postgres, workdir)
    bench = Run(ctx, _say)
    results = asyncio.run(bench.execute())
    results["plots"] = [p.name for p in write_all(results, bench.samples, folder)]
    results["problems"] = problems(results)
    (folder / "results.json").write_text(json.dumps(results, indent=2, allow_nan=True))
    (folder / "report.md").write_text(render(results))
    _say(f"wrote {folder}/results.json, report.md and {len(results['plots'])} plots")
    for problem in results["problems"]:
        _say(f"problem: {problem}")
    return 1 if results["problems"] else 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

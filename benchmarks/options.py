"""The flags of `python -m benchmarks` / `logstore bench` (light: no benchmark code imported)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.steps.context import AMQP_URL, POSTGRES_DSN, STORE_URL
from benchmarks.steps.profiles import PROFILES

RESULTS = Path("results") / "bench"  # under the directory the run starts in


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick", help="run sizes")
    for name in sorted(PROFILES):
        parser.add_argument(
            f"--{name}", action="store_const", dest="profile", const=name, help=f"--profile {name}"
        )
    parser.add_argument("--results", type=Path, default=RESULTS, help="output folder")
    parser.add_argument("--store", default=STORE_URL, help="Cassandra URL (a keyspace for benchmarks)")
    parser.add_argument("--amqp", default=AMQP_URL, help="RabbitMQ URL")
    parser.add_argument("--postgres", default=POSTGRES_DSN, help="PostgreSQL DSN for the baselines")

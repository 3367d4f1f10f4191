"""`logstore bench --profile quick|full`: the load test of the whole pipeline with its baselines
(runs `python -m benchmarks`; needs the `bench` extra and the servers of `make servers`)."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from benchmarks.options import add_arguments


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "bench", help="load-test the pipeline against RabbitMQ, Cassandra and PostgreSQL baselines"
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # imported here: the benchmark pulls in matplotlib and asyncpg, which no other command needs
    bench = importlib.import_module("benchmarks.__main__")
    code: int = bench.run(args)
    return code

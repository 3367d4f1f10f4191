"""Where the tests find the real servers that `make test` starts (scripts/cassandra.sh,
scripts/rabbitmq.sh). A test that needs one fails with a clear message when it is not there:
it never skips, on CI or anywhere else."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

CASSANDRA_URL = os.environ.get(
    "LOGSTORE_TEST_CASSANDRA", "cassandra://127.0.0.1:9042/logstore_test?consistency=ONE"
)


# `make check` sets this and deselects the tests marked as needing a server (SERVER_MARKS); a test
# that reaches for a server without such a mark then fails here, so the marks stay true.
NO_SERVERS = os.environ.get("LOGSTORE_TEST_NO_SERVERS") == "1"
SERVER_MARKS = ("cassandra", "rabbitmq", "postgres", "prometheus", "browser", "cluster", "rabbitmq_cluster")


def refuse_unmarked(what: str) -> None:
    """Under LOGSTORE_TEST_NO_SERVERS=1, fail a test that needs `what` and is not marked so."""
    if NO_SERVERS:
        pytest.fail(
            f"this test needs {what} but carries none of the marks {', '.join(SERVER_MARKS)}: "
            "mark it, so that `make check` (LOGSTORE_TEST_NO_SERVERS=1) leaves it out"
        )


def require_port(host: str, port: int, what: str, start: str) -> None:
    refuse_unmarked(what)
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{what} is not reachable on {host}:{port} ({exc}); start it with `{start}`")


def require_cassandra() -> str:
    require_port("127.0.0.1", 9042, "Cassandra", "scripts/cassandra.sh up")
    return CASSANDRA_URL


AMQP_URL = os.environ.get("LOGSTORE_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/")


# The build workers' user that scripts/rabbitmq.sh creates: it may only publish to the chunks exchange.
AMQP_WORKER_URL = os.environ.get(
    "LOGSTORE_TEST_AMQP_WORKER", "amqp://logstore-worker:logstore-worker@127.0.0.1:5672/"
)
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # scripts/rabbitmq.sh's cap (RABBITMQ_MAX_MESSAGE_BYTES)


def require_rabbitmq() -> str:
    require_port("127.0.0.1", 5672, "RabbitMQ", "scripts/rabbitmq.sh up")
    return AMQP_URL


POSTGRES_DSN = os.environ.get(
    "LOGSTORE_TEST_POSTGRES", "postgresql://logstore_bench:logstore_bench@127.0.0.1:5432/logstore_bench"
)


def require_postgres() -> str:
    """PostgreSQL for the benchmark baselines (scripts/postgres.sh)."""
    require_port("127.0.0.1", 5432, "PostgreSQL", "scripts/postgres.sh up")
    return POSTGRES_DSN


SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def server_script(name: str, *args: str, timeout: float = 300) -> None:
    refuse_unmarked(f"scripts/{name}")
    """Run scripts/<name>.sh ARGS (up, down, restart, freeze...) and fail the test if it fails."""
    done = subprocess.run(
        [str(SCRIPTS / f"{name}.sh"), *args], capture_output=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        pytest.fail(
            f"scripts/{name}.sh {' '.join(args)} failed:\n{done.stdout.decode()}\n{done.stderr.decode()}"
        )

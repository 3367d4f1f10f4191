"""The fault suite: one fresh fleet (queues, job ids) per fault; a table of every fault's outcome
printed at the end of the run and written to results/faults-<target>.md (gitignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.scenario import FaultResult, table

RESULTS = Path(__file__).resolve().parents[2] / "results"
_RESULTS: dict[str, list[FaultResult]] = {}


@pytest.fixture
def record_fault() -> Iterator[list[FaultResult]]:
    recorded: list[FaultResult] = []
    yield recorded
    for result in recorded:
        _RESULTS.setdefault(result.target, []).append(result)


# queues and exchanges namespaced per test, deleted after it
from tests.integration.amqp_fixtures import bus_settings  # noqa: E402,F401


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for target, results in _RESULTS.items():
        title = {
            "single": "Faults on a single Cassandra node",
            "cluster": "Faults on a 3-node Cassandra cluster",
            "rabbitmq-cluster": "Faults on a 3-node RabbitMQ cluster (single Cassandra node)",
        }
        text = table(results, title[target])
        terminalreporter.write_sep("=", f"fault table ({target})")
        terminalreporter.write_line(text)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"faults-{target}.md").write_text(text + "\n")

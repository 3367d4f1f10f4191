"""A private Prometheus for one test, started by scripts/prometheus.sh (Debian's package) with
fast scrapes, and the few calls of its HTTP API the tests need."""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.servers import SCRIPTS

DEPLOY = SCRIPTS.parent / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "logstore.json"
SCRAPE_S = 1
FAST_FOR_S = 10


def fast_rules(path: Path) -> dict[str, float]:
    """Write alerts.yml with every `for:` shortened to FAST_FOR_S (expressions unchanged) to
    `path`; return each alert's `for:` in the test, in seconds."""
    text = RULES.read_text()
    path.write_text(re.sub(r"(?m)^(\s+for:) \S+$", rf"\1 {FAST_FOR_S}s", text))
    durations: dict[str, float] = {}
    for block in re.split(r"(?m)^\s+- alert: ", text)[1:]:
        durations[block.split()[0]] = FAST_FOR_S if re.search(r"(?m)^\s+for: ", block) else 0.0
    return durations


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query of the Grafana dashboard."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [(panel["title"], target["expr"]) for panel in panels for target in panel.get("targets", [])]


@dataclass
class Firing:
    alert: str
    labels: dict[str, str]
    seconds: float  # from the fault to the alert seen firing
    pending_to_firing_s: float  # from Prometheus' activeAt (condition first true) to seen firing


class Prometheus:
    def __init__(self, run_dir: Path, port: int, rules: Path) -> None:
        self.run_dir = run_dir
        self.base = f"http://127.0.0.1:{port}"
        self.env = {
            "PROMETHEUS_RUN_DIR": str(run_dir),
            "PROMETHEUS_PORT": str(port),
            "PROMETHEUS_SCRAPE_INTERVAL": f"{SCRAPE_S}s",
            "PROMETHEUS_EVALUATION_INTERVAL": f"{SCRAPE_S}s",
            "PROMETHEUS_RULES": str(rules),
        }

    def script(self, command: str) -> None:
        done = subprocess.run(
            [str(SCRIPTS / "prometheus.sh"), command],
            capture_output=True,
            timeout=600,
            check=False,
            env={"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", **self.env},
        )
        if done.returncode != 0:
            output = done.stdout.decode() + done.stderr.decode()
            pytest.fail(f"scripts/prometheus.sh {command} failed:\n{output}")

    def scrape(self, role: str, base: str) -> None:
        """Add a logstore process to the scrape targets (file_sd)."""
        path = self.run_dir / "targets" / f"{role}-{base.rsplit(':', 1)[1]}.json"
        path.write_text(json.dumps([{"targets": [base.split("://", 1)[1]], "labels": {"role": role}}]))

    def query(self, promql: str) -> list[dict[str, object]]:
        reply = httpx.get(f"{self.base}/api/v1/query", params={"query": promql}, timeout=10).json()
        if reply["status"] != "success":
            raise AssertionError(f"{promql}: {reply}")
        result: list[dict[str, object]] = reply["data"]["result"]
        return result

    def alerts(self) -> list[dict[str, object]]:
        alerts: list[dict[str, object]] = httpx.get(f"{self.base}/api/v1/alerts", timeout=10).json()["data"][
            "alerts"
        ]
        return alerts

    def alert_labels(self) -> list[dict[str, str]]:
        """The labels of every pending or firing alert."""
        return [dict(entry["labels"]) for entry in self.alerts() if isinstance(entry["labels"], dict)]

    def wait_firing(
        self, wanted: list[tuple[str, dict[str, str]]], since: float, within_s: float
    ) -> list[Firing]:
        """Poll until each (alert, labels) fires, noting when each was first seen firing; `since`
        is the fault's time.time()."""
        seen: dict[int, Firing] = {}
        deadline = time.monotonic() + within_s
        while len(seen) < len(wanted) and time.monotonic() < deadline:
            alerts, now = self.alerts(), time.time()
            for index, (alert, labels) in enumerate(wanted):
                for entry in alerts:
                    if index not in seen and _firing(entry, alert, labels):
                        active = _unix(str(entry["activeAt"]))
                        seen[index] = Firing(alert, labels, round(now - since, 1), round(now - active, 1))
            time.sleep(0.5)
        missing = [wanted[i] for i in range(len(wanted)) if i not in seen]
        assert not missing, f"not firing after {within_s} s: {missing}; alerts: {self.alerts()}"
        return [seen[i] for i in range(len(wanted))]


def _firing(entry: dict[str, object], alert: str, labels: dict[str, str]) -> bool:
    got = entry["labels"]
    assert isinstance(got, dict)
    named = got.get("alertname") == alert and all(got.get(k) == v for k, v in labels.items())
    return named and entry["state"] == "firing"


def _unix(rfc3339: str) -> float:
    """Prometheus' `2026-11-24T13:40:01.123456789Z` (nanoseconds, which datetime cannot hold)."""
    seconds, _, fraction = rfc3339.rstrip("Z").partition(".")
    whole = datetime.fromisoformat(seconds).replace(tzinfo=UTC).timestamp()
    return whole + float(f"0.{fraction or 0}")

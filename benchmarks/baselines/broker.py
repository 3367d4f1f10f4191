"""Run a baseline consumer process (consumer.py) against the fleet published through RabbitMQ
with confirms, exactly as our ingesters get it; collect what it measured."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness.fleet import FleetRun, JobLog, run_fleet
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings


@dataclass
class ConsumerResult:
    run: FleetRun
    stored: int
    first_stored: float
    last_stored: float
    latencies: list[float]
    peak_rss_mib: float


async def through_consumer(
    kind: str,
    settings: BusSettings,
    jobs: list[JobLog],
    pace_s: float | None,
    workdir: Path,
    dsn: str = "",
    prefix: str = "bench",
    timeout_s: float = 600,
) -> ConsumerResult:
    out = workdir / f"{prefix}-{kind}.json"
    expect = sum(job.chunks for job in jobs)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.baselines.consumer", "--kind", kind, "--dsn", dsn,
        "--prefix", prefix, "--expect", str(expect), "--timeout", str(timeout_s), "--out", str(out),
        stdout=asyncio.subprocess.PIPE,
        env={**_environ(), **settings.as_env()},
    )  # fmt: skip
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if line.strip() != b"ready":
            raise RuntimeError(f"baseline consumer {kind} did not start: {line!r}")
        publisher = await ChunkPublisher.connect(settings)
        try:
            run = await run_fleet(jobs, publisher.publish, pace_s)
        finally:
            await publisher.close()
        await asyncio.wait_for(process.wait(), timeout_s + 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    result = json.loads(out.read_text())
    return ConsumerResult(
        run,
        int(result["stored"]),
        float(result["first_stored"]),
        float(result["last_stored"]),
        [float(x) for x in result["latencies"]],
        float(result["peak_rss_mib"]),
    )


def _environ() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONUNBUFFERED": "1"}

"""HTTP ingest at load: one `logstore ingest` process taking `PUT /v1/jobs/{id}/chunks/{clock}`
from wrk (a C load generator, so the client outruns the server on the same cores), each
request a new chunk. Chunks/s is what the server answered with 2xx; its CPU per chunk from /proc;
what it stored is checked against its own counters (every 201 is a created chunk)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

from benchmarks.harness.deployment import Deployment
from benchmarks.harness.processes import metric_value
from benchmarks.steps.context import BenchContext

LUA = Path(__file__).resolve().parent / "wrk" / "put_chunks.lua"
CONNECTIONS = 64


async def http_put_load(
    ctx: BenchContext, deployment: Deployment, chunk_bytes: int, seconds: float
) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: run scripts/tools.sh")
    (ingester,) = await asyncio.to_thread(deployment.start, "ingest", 1)
    env = {
        **os.environ,
        "LOGSTORE_WRK_PREFIX": f"{ctx.tag}-http{chunk_bytes}",
        "LOGSTORE_WRK_BYTES": str(chunk_bytes),
        "LOGSTORE_WRK_CHUNKS_PER_JOB": "500",
    }
    cpu = deployment.ingest_cpu_s()
    process = await asyncio.create_subprocess_exec(
        wrk, "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "--latency",
        "-s", str(LUA), ingester.base,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    cpu = deployment.ingest_cpu_s() - cpu
    report = out.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {report[-2000:]}")
    total, elapsed = _requests(report)
    errors = _int(r"Non-2xx or 3xx responses: (\d+)", report) + _socket_errors(report)
    page = await asyncio.to_thread(ingester.metrics)
    created = metric_value(page, 'logstore_ingest_chunks_total{result="created"}')
    return {
        "chunk_bytes": chunk_bytes,
        "connections": CONNECTIONS,
        "requests": total,
        "errors": errors,
        "stored": created,
        "chunks_per_s": (total - errors) / elapsed,
        "mb_per_s": (total - errors) * chunk_bytes / elapsed / 1e6,
        "server_cpu_us_per_chunk": cpu / max(1, total - errors) * 1e6,
        "p50_ms": _latency(report, "50%"),
        "p99_ms": _latency(report, "99%"),
    }


def _requests(report: str) -> tuple[int, float]:
    found = re.search(r"(\d+) requests in ([\d.]+)(m?s|m)\b", report)
    if found is None:
        raise RuntimeError(f"no request count in wrk's report: {report[-2000:]}")
    value, unit = float(found.group(2)), found.group(3)
    seconds = value / 1000 if unit == "ms" else value * 60 if unit == "m" else value
    return int(found.group(1)), seconds


def _int(pattern: str, report: str) -> int:
    found = re.search(pattern, report)
    return int(found.group(1)) if found else 0


def _socket_errors(report: str) -> int:
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    return sum(int(n) for n in found.groups()) if found else 0


def _latency(report: str, percentile: str) -> float:
    found = re.search(rf"^\s*{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", report, re.MULTILINE)
    if found is None:
        return float("nan")
    value, unit = float(found.group(1)), found.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

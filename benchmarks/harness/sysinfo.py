"""The machine a run measured, and the memory of processes (from /proc)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of `pid` in MiB; field VmHWM is the peak since the process started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib(pid: int) -> float:
    return rss_mib(pid, "VmHWM")


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count() or 0,
        "cpu_model": _cpu_model(),
        "ram_gib": round(_mem_gib(), 1),
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "cassandra": _cassandra_version(),
        "rabbitmq": _first_line(["dpkg-query", "-W", "-f=${Version}", "rabbitmq-server"]),
        "postgresql": _first_line(["dpkg-query", "-W", "-f=${Version}", "postgresql"]),
    }


def _cassandra_version() -> str:
    cache = Path(__file__).resolve().parents[2] / ".cache"
    names = sorted(p.name for p in cache.glob("cassandra-*") if p.is_dir()) if cache.is_dir() else []
    return names[-1].removeprefix("cassandra-") if names else "unknown"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cores_busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Cores the whole machine kept busy between two machine_ticks() (1.0 = one core all along)."""
    return (after[0] - before[0]) / max(1, after[1] - before[1]) * (os.cpu_count() or 1)


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)

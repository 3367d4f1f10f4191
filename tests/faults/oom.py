"""An ingester killed by the kernel's out-of-memory killer, as a container at its memory limit is:
the process is moved into a memory cgroup of its own (cgroup v1, /sys/fs/cgroup/memory) whose
limit its next allocations exceed. Memory charged before the move stays where it was, so the limit
is on what it allocates from then on. A throwaway process allocating 1 MiB every 50 ms was killed
within half a second; an ingester at 44 chunks/s, which reuses its allocator's arenas, was not
killed within 60 s (its row then fails, saying so)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from tests.faults.fleet import Fleet

CGROUPS = Path("/sys/fs/cgroup/memory")
LIMIT_BYTES = 8 * 1024 * 1024  # of new allocations
KILLED_WITHIN_S = 60.0


def _oom_kills(group: Path) -> int:
    fields = (group / "memory.oom_control").read_text().split()
    return int(fields[fields.index("oom_kill") + 1]) if "oom_kill" in fields else -1


async def oom_kill_ingester(fleet: Fleet) -> str:
    role = fleet.roles["ingest"][0]
    pid = role.process.pid
    group = CGROUPS / f"logstore-fault-{pid}"
    group.mkdir()
    try:
        (group / "cgroup.procs").write_text(str(pid))
        (group / "memory.limit_in_bytes").write_text(str(LIMIT_BYTES))
        try:
            code = await asyncio.to_thread(role.process.wait, KILLED_WITHIN_S)
        except subprocess.TimeoutExpired:
            (CGROUPS / "cgroup.procs").write_text(str(pid))  # back out: this row then fails
            return f"ingester pid {pid} NOT killed within {KILLED_WITHIN_S:.0f} s at the memory limit"
        kills = _oom_kills(group)
    finally:
        if not (group / "cgroup.procs").read_text().split():
            group.rmdir()
    lag = await fleet.watch_lag(1.0)  # a supervisor's restart delay
    await asyncio.to_thread(role.restart().wait_ready)
    return (
        f"ingester pid {pid} put under a {LIMIT_BYTES >> 20} MiB memory cgroup limit: exit {code}, "
        f"oom_kill {kills}; restarted on the same port; backlog peaked at {lag} chunks"
    )

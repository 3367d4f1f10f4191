"""An ingester killed by the kernel's out-of-memory killer, as a container at its memory limit is:
the process is moved into a memory cgroup of its own (cgroup v1, /sys/fs/cgroup/memory) whose
limit its next allocations exceed, and a burst of 1 MiB chunks arrives (builds dumping artifacts
into their logs), more than it has ever held at once.

Memory charged before the move stays where it was, so the limit is on what it allocates from then
on. The steady load alone does not reach it: an ingester at 44 chunks/s reuses its allocator's
arenas and was not killed within 60 s. The burst's messages fill its prefetch window with
megabytes it has to allocate afresh, as a real burst past a container's limit does."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from tests.faults.fleet import Fleet

CGROUPS = Path("/sys/fs/cgroup/memory")
LIMIT_BYTES = 16 * 1024 * 1024  # of new allocations
BURST = (8, 24, 1024 * 1024)  # jobs at once, chunks each, chunk bytes: 192 MiB offered
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
        burst = asyncio.create_task(fleet.burst(*BURST))
        try:
            code = await asyncio.to_thread(role.process.wait, KILLED_WITHIN_S)
        except subprocess.TimeoutExpired:
            (CGROUPS / "cgroup.procs").write_text(str(pid))  # back out: this row then fails
            await burst
            return f"ingester pid {pid} NOT killed within {KILLED_WITHIN_S:.0f} s at the memory limit"
        kills = _oom_kills(group)
    finally:
        if not (group / "cgroup.procs").read_text().split():
            group.rmdir()
    lag = await fleet.watch_lag(1.0)  # a supervisor's restart delay
    await asyncio.to_thread(role.restart().wait_ready)
    await burst  # the other ingester, then the restarted one, store the rest
    jobs, chunks, size = BURST
    return (
        f"ingester pid {pid} under a {LIMIT_BYTES >> 20} MiB memory cgroup limit, then {jobs} jobs "
        f"of {chunks} x {size >> 20} MiB chunks at once: exit {code}, oom_kill {kills}; restarted "
        f"on the same port; backlog peaked at {lag} chunks"
    )

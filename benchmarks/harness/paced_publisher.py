"""One publisher process of a paced load: jobs FIRST..FIRST+COUNT-1 of a fleet, each sending one
chunk every 500 ms from a start time (unix, read from stdin once it has printed "ready") until its
CHUNKS are sent or WINDOW_S have passed (0: no limit), published with confirms; writes what it
sent as JSON to REPORT (a file: the report of thousands of jobs came back cut through a pipe).
`run_publishers` starts several side by side (benchmarks/steps/half_peak.py, the live-jobs points) so
that the load generator outruns what it measures: one Python process with confirms tops out near
1,200 chunks/s here.

    python -m benchmarks.harness.paced_publisher TAG FIRST COUNT CHUNKS WINDOW_S REPORT [MIX]   (bus from env)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from benchmarks.harness.fleet import PACE_S, fleet_slice, run_fleet
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings

PUBLISHERS = 3
READY_TIMEOUT_S = 60.0  # for a publisher process to import, connect and say so
START_DELAY_S = 0.5  # from every process ready to the first chunk: the start time's way to them


async def publish_slice(
    tag: str, first: int, count: int, chunks: int, window_s: float, mix: str = "realistic"
) -> dict[str, object]:
    """Connect, say "ready", read the start time (unix) from stdin, then publish."""
    jobs = fleet_slice(tag, first, count, chunks, mix)
    publisher = await ChunkPublisher.connect(BusSettings())
    try:
        print("ready", flush=True)
        start_at = float(await asyncio.to_thread(sys.stdin.readline))
        await asyncio.sleep(max(0.0, start_at - time.time()))
        until = start_at + window_s if window_s > 0 else None
        run = await run_fleet(jobs, publisher.publish, PACE_S, until=until)
    finally:
        await publisher.close()
    return {"sent": run.sent, "bytes": run.bytes, "errors": run.errors, "started": run.started}


async def run_publishers(
    settings: BusSettings,
    tag: str,
    jobs: int,
    chunks: int,
    window_s: float = 0.0,
    processes: int = PUBLISHERS,
    mix: str = "realistic",
) -> tuple[float, list[dict[str, Any]]]:
    """Jobs 0..jobs-1 of the fleet `tag`, split over `processes` publisher processes, started
    together once every process is connected (a process still importing when the others start
    would send its jobs late, in a burst); stopped after `window_s` (0: when every chunk is sent).
    The start time (unix) and each process's report."""
    share = -(-jobs // processes)
    with tempfile.TemporaryDirectory(prefix="paced-") as folder:
        paths = [Path(folder) / f"{first}.json" for first in range(0, jobs, share)]
        arguments = [
            [tag, str(first), str(min(share, jobs - first)), str(chunks), str(window_s), str(path), mix]
            for first, path in zip(range(0, jobs, share), paths, strict=True)
        ]
        start_at, started = await start_together("benchmarks.harness.paced_publisher", arguments, settings)
        for process in started:
            await process.communicate()
            if process.returncode != 0:
                raise RuntimeError(f"a publisher process exited with {process.returncode}")
        return start_at, [json.loads(path.read_text()) for path in paths]


async def start_together(
    module: str, arguments: list[list[str]], settings: BusSettings
) -> tuple[float, list[asyncio.subprocess.Process]]:
    """One `python -m module` process per argument list, with the bus settings in its environment
    and pipes on stdin and stdout; once every one has printed "ready" (connected), each is sent the
    same start time (unix) on stdin. The start time and the processes."""
    env = {**os.environ, **settings.as_env()}
    started = []
    for args in arguments:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args,
            env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        started.append(process)
    for process in started:
        assert process.stdout is not None
        if (await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT_S)).strip() != b"ready":
            raise RuntimeError(f"a {module} process did not start")
    start_at = time.time() + START_DELAY_S
    for process in started:  # all at once: each waits for this line
        assert process.stdin is not None
        process.stdin.write(f"{start_at}\n".encode())
        await process.stdin.drain()
    return start_at, started


def main(argv: list[str]) -> None:
    tag, first, count, chunks, window_s = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), float(argv[4])
    mix = argv[6] if len(argv) > 6 else "realistic"
    report = uvloop.run(publish_slice(tag, first, count, chunks, window_s, mix))
    Path(argv[5]).write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])

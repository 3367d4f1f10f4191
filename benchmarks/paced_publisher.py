"""One publisher process of a paced load: jobs FIRST..FIRST+COUNT-1 of a fleet, each sending one
chunk every 500 ms from START_AT (unix time) until its CHUNKS are sent or UNTIL (unix time, 0 for
none), published with confirms; prints what it sent as one JSON line. `run_publishers` starts
several side by side (benchmarks/half_peak.py, the live-jobs points) so that the load generator
outruns what it measures: one Python process with confirms tops out near 1,200 chunks/s here.

    python -m benchmarks.paced_publisher TAG FIRST COUNT CHUNKS START_AT UNTIL   (bus from env)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import uvloop

from benchmarks.fleet import PACE_S, JobLog, corpus_texts, run_fleet
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings

PUBLISHERS = 3


def fleet_slice(tag: str, first: int, count: int, chunks: int) -> list[JobLog]:
    """The jobs of make_fleet(tag, ...) numbered first..first+count-1."""
    texts = len(corpus_texts())
    return [JobLog(f"{tag}-{index:05d}", index % texts, chunks) for index in range(first, first + count)]


async def publish_slice(
    tag: str, first: int, count: int, chunks: int, start_at: float, until: float | None
) -> dict[str, object]:
    jobs = fleet_slice(tag, first, count, chunks)
    publisher = await ChunkPublisher.connect(BusSettings())
    try:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        run = await run_fleet(jobs, publisher.publish, PACE_S, until=until)
    finally:
        await publisher.close()
    return {"sent": run.sent, "bytes": run.bytes, "errors": run.errors, "started": run.started}


async def run_publishers(
    settings: BusSettings,
    tag: str,
    jobs: int,
    chunks: int,
    start_at: float,
    until: float | None = None,
    processes: int = PUBLISHERS,
) -> list[dict[str, Any]]:
    """Jobs 0..jobs-1 of the fleet `tag`, split over `processes` publisher processes; their reports."""
    share = -(-jobs // processes)
    env = {**os.environ, **settings.as_env()}
    started = []
    for first in range(0, jobs, share):
        args = [tag, str(first), str(min(share, jobs - first)), str(chunks), str(start_at), str(until or 0)]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.paced_publisher", *args, env=env, stdout=asyncio.subprocess.PIPE
        )
        started.append(process)
    reports = []
    for process in started:
        out, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"a publisher process exited with {process.returncode}")
        reports.append(json.loads(out))
    return reports


def main(argv: list[str]) -> None:
    tag, first, count, chunks = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    start_at, until = float(argv[4]), float(argv[5]) or None
    print(json.dumps(uvloop.run(publish_slice(tag, first, count, chunks, start_at, until))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

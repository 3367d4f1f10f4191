"""One publisher process of a paced load: jobs FIRST..FIRST+COUNT-1 of a fleet, each sending one
chunk every 500 ms from START_AT (unix time), published with confirms; prints what it sent as one
JSON line. Several run side by side (benchmarks/half_peak.py) so that the load generator outruns
what it measures: one Python process with confirms tops out near 1,200 chunks/s here.

    python -m benchmarks.paced_publisher TAG FIRST COUNT CHUNKS START_AT   (bus settings from env)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import uvloop

from benchmarks.fleet import PACE_S, JobLog, corpus_texts, run_fleet
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings


def fleet_slice(tag: str, first: int, count: int, chunks: int) -> list[JobLog]:
    """The jobs of make_fleet(tag, ...) numbered first..first+count-1."""
    texts = len(corpus_texts())
    return [JobLog(f"{tag}-{index:05d}", index % texts, chunks) for index in range(first, first + count)]


async def publish_slice(tag: str, first: int, count: int, chunks: int, start_at: float) -> dict[str, object]:
    jobs = fleet_slice(tag, first, count, chunks)
    publisher = await ChunkPublisher.connect(BusSettings())
    try:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        run = await run_fleet(jobs, publisher.publish, PACE_S)
    finally:
        await publisher.close()
    return {"sent": run.sent, "bytes": run.bytes, "errors": run.errors, "started": run.started}


def main(argv: list[str]) -> None:
    tag, first, count, chunks, start_at = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), float(argv[4])
    print(json.dumps(uvloop.run(publish_slice(tag, first, count, chunks, start_at))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

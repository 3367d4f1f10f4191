"""The peak of the whole pipeline on this machine: the chunks/s its ingesters store while more is
offered than they can take. Paced jobs (benchmarks.harness.paced_publisher, several processes; 1.6 KB
chunks, or a mix of sizes) offer `offered_per_s`; stored/s is read from the ingesters' counters
over the window's steady part. A long run (the soak, the fault matrix) then offers half of it.
This is the end-to-end peak, with the load generator and the broker's publish side on the same
2 cores: lower than the backlog drain of `logstore bench`, which measures the ingesters alone on
a queue filled beforehand."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from benchmarks.harness.deployment import Deployment, wait_handled
from benchmarks.harness.fleet import PACE_S
from benchmarks.harness.paced_publisher import run_publishers

SETTLE_S = 10.0  # from the publishers' start to the window: connections made, queue building


@dataclass(frozen=True)
class Peak:
    offered_per_s: float
    mix: str
    confirmed_per_s: float  # publishes the broker confirmed, over the whole run
    stored_per_s: float  # the peak: stored during the window
    stored_mib_per_s: float  # the same window in bytes (chunks of a mix differ a thousandfold)
    backlog_grew: bool  # True: the pipeline, not the load generator, set the figure

    @property
    def half(self) -> float:
        return self.stored_per_s / 2


async def measure_peak(
    deployment: Deployment, tag: str, offered_per_s: float, seconds: float, mix: str = "realistic"
) -> Peak:
    jobs = max(3, round(offered_per_s * PACE_S))
    chunks = max(2, int(seconds / PACE_S))
    window: list[tuple[float, float, float]] = []
    before = await deployment.handled()  # what earlier probes on the same deployment left

    async def count() -> None:
        await asyncio.sleep(SETTLE_S)
        while True:
            window.append((time.monotonic(), await deployment.handled(), await deployment.stored_bytes()))
            await asyncio.sleep(1.0)

    counting = asyncio.create_task(count())
    try:
        start_at, outputs = await run_publishers(deployment.settings, tag, jobs, chunks, mix=mix)
    finally:
        counting.cancel()
    sent = sum(int(out["sent"]) for out in outputs)
    elapsed = max(1e-9, time.time() - start_at)
    (t0, h0, b0), (t1, h1, b1) = window[0], window[-1]
    stored_per_s = (h1 - h0) / max(1e-9, t1 - t0)
    backlog = before + sent - await deployment.handled()
    # drain before whatever comes next
    if not await wait_handled(deployment, round(before) + sent, timeout_s=600):
        raise RuntimeError("the probe's backlog did not drain within 10 minutes")
    return Peak(
        offered_per_s=jobs / PACE_S,
        mix=mix,
        confirmed_per_s=sent / elapsed,
        stored_per_s=stored_per_s,
        stored_mib_per_s=(b1 - b0) / max(1e-9, t1 - t0) / 2**20,
        backlog_grew=backlog > stored_per_s,  # more than a second's work queued at the end
    )

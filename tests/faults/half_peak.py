"""The load of `make faults`: half of the pipeline's peak, measured on the same servers the rows
then run on (benchmarks.harness.pipeline_peak: 2 ingesters, a streamer and a compactor, as in the fault
fleet; paced jobs of chunks from 1.6 KB to 1 MiB). Measured once per module, before its first
row; the table's load column says what came out.

The offer climbs (OFFERS) until the pipeline falls behind it; the peak is the most it stored in
any step. That is usually the step it fell behind at, but not always: a pipeline drowning in its
backlog can store less than the step before it kept up with (on the 3-node RabbitMQ, 800 chunks/s
offered were kept up with and 1,600 gave 705 stored; on the 3-node Cassandra, 1,500 offered, some
25 MB/s of this mix, once gave 90 stored)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness.deployment import Deployment
from benchmarks.harness.pipeline_peak import Peak, measure_peak
from logstore.config import BusSettings

MIX = "mixed"
OFFERS = (100.0, 200.0, 400.0, 800.0, 1600.0)  # chunks/s, each twice the last
PROBE_S = 25.0


@dataclass(frozen=True)
class FaultLoad:
    rate: float  # chunks/s the fleet offers
    note: str  # how that was found, for the table

    def slots(self, interval_s: float) -> int:
        return max(1, round(self.rate * interval_s))


def describe(steps: list[Peak], where: str) -> str:
    """The note of the table's load column: the peak and every step of the climb."""
    peak = best(steps)
    bound = "" if steps[-1].backlog_grew else ", a lower bound: the load generator set it"
    climb = ", ".join(
        f"{step.offered_per_s:.0f} -> {step.stored_per_s:.0f}{' (behind)' if step.backlog_grew else ''}"
        for step in steps
    )
    return (
        f"; half of the {peak.stored_per_s:.0f}/s ({peak.stored_mib_per_s:.1f} MiB/s) peak measured "
        f"on {where} (offered -> stored/s: {climb}){bound}"
    )


def best(steps: list[Peak]) -> Peak:
    return max(steps, key=lambda step: step.stored_per_s)


def half_of_peak(store_url: str, bus: BusSettings, workdir: Path, where: str) -> FaultLoad:
    async def probe() -> FaultLoad:
        tag = f"peak-{uuid.uuid4().hex[:8]}"
        deployment = Deployment(bus.namespaced(tag), store_url, workdir)
        try:
            for role, count in (("ingest", 2), ("stream", 1), ("compact", 1)):
                await asyncio.to_thread(deployment.start, role, count)
            steps: list[Peak] = []
            for step, offered in enumerate(OFFERS):
                steps.append(await measure_peak(deployment, f"{tag}-{step}", offered, PROBE_S, MIX))
                print(f"peak probe on {where}: {describe(steps, where)}", flush=True)
                if steps[-1].backlog_grew:
                    break
        finally:
            await deployment.stop()
        return FaultLoad(best(steps).half, describe(steps, where))

    return asyncio.run(probe())

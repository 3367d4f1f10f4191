"""The load of `make faults`: half of the pipeline's peak, measured on the same servers the rows
then run on (benchmarks.pipeline_peak: 2 ingesters, a streamer and a compactor, as in the fault
fleet; paced jobs of chunks from 1.6 KB to 1 MiB). Measured once per module, before its first
row; the table's load column says what came out.

The offer climbs (OFFERS) until the pipeline falls behind it: the first offer it cannot keep up
with gives the peak, measured at most twice over it. Offering far more than it stores measures a
pipeline drowning in its backlog instead (on the 3-node cluster, 1,500 chunks/s offered, some 25 MB/s
of this mix, gave 90 chunks/s stored)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path

from benchmarks.deployment import Deployment
from benchmarks.pipeline_peak import Peak, measure_peak
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


def describe(peak: Peak, where: str) -> str:
    bound = "" if peak.backlog_grew else ", a lower bound: the load generator set it"
    return (
        f"; half of the {peak.stored_per_s:.0f}/s ({peak.stored_mib_per_s:.1f} MiB/s) peak measured "
        f"on {where} with {peak.offered_per_s:.0f}/s offered{bound}"
    )


def half_of_peak(store_url: str, bus: BusSettings, workdir: Path, where: str) -> FaultLoad:
    async def probe() -> FaultLoad:
        tag = f"peak-{uuid.uuid4().hex[:8]}"
        deployment = Deployment(bus.namespaced(tag), store_url, workdir)
        try:
            for role, count in (("ingest", 2), ("stream", 1), ("compact", 1)):
                await asyncio.to_thread(deployment.start, role, count)
            for step, offered in enumerate(OFFERS):
                peak = await measure_peak(deployment, f"{tag}-{step}", offered, PROBE_S, MIX)
                print(f"peak probe on {where}: {describe(peak, where)}", flush=True)
                if peak.backlog_grew:
                    break
        finally:
            await deployment.stop()
        return FaultLoad(peak.half, describe(peak, where))

    return asyncio.run(probe())

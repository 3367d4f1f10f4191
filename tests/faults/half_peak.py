"""The load of `make faults`: half of the pipeline's peak, measured on the same servers the rows
then run on (benchmarks.pipeline_peak: 2 ingesters, a streamer and a compactor, as in the fault
fleet; paced jobs of chunks from 1.6 KB to 1 MiB offered beyond what they store). Measured once
per module, before its first row; the table's load column says what came out."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path

from benchmarks.deployment import Deployment
from benchmarks.pipeline_peak import measure_peak
from logstore.config import BusSettings

MIX = "mixed"
OFFERED_PER_S = 1500.0  # beyond what the fleet's pipeline stores on these clusters (the table says if not)
PROBE_S = 25.0


@dataclass(frozen=True)
class FaultLoad:
    rate: float  # chunks/s the fleet offers
    note: str  # how that was found, for the table

    def slots(self, interval_s: float) -> int:
        return max(1, round(self.rate * interval_s))


def half_of_peak(store_url: str, bus: BusSettings, workdir: Path, where: str) -> FaultLoad:
    async def probe() -> FaultLoad:
        tag = f"peak-{uuid.uuid4().hex[:8]}"
        deployment = Deployment(bus.namespaced(tag), store_url, workdir)
        try:
            for role, count in (("ingest", 2), ("stream", 1), ("compact", 1)):
                await asyncio.to_thread(deployment.start, role, count)
            peak = await measure_peak(deployment, tag, OFFERED_PER_S, PROBE_S, MIX)
        finally:
            await deployment.stop()
        bound = "" if peak.backlog_grew else ", a lower bound: the load generator set it"
        note = f"; half of the {peak.stored_per_s:.0f}/s peak measured on {where}{bound}"
        return FaultLoad(peak.half, note)

    return asyncio.run(probe())

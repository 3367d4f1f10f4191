"""Run one fault under steady load and check every byte afterwards."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from tests.faults.faults import Fault
from tests.faults.fleet import Fleet

AFTER_S = 5.0


@dataclass
class FaultResult:
    target: str  # "single" (one Cassandra node) or "cluster" (three)
    fault: str
    observed: str
    recovery_s: float | None  # from the fault's end until viewers are live again (Fleet.wait_recovered)
    jobs: int
    chunks: int  # published and confirmed
    chunks_stored: int  # found in the final downloads
    chunks_lost: int  # confirmed chunks missing from the final download
    dead_lettered: int  # messages in the dead-letter queue at the end (a good chunk never belongs there)
    out_of_order: int  # viewer frames past the next clock, plus downloads that differ other than by loss
    duplicates: int  # viewer frames of a clock the viewer had already received
    viewer_mismatches: int  # viewers whose bytes differ from the source
    reconnects: int
    backlog_peak: int  # the most confirmed chunks not yet at their viewers
    wait_peak_s: float  # the longest a confirmed chunk waited for its viewer (the fault's latency)
    load: str  # what the fleet offered: chunks/s, sizes, jobs at once


async def run_fault(fleet: Fleet, fault: Fault, target: str) -> FaultResult:
    await asyncio.to_thread(fleet.start_roles)
    try:
        await fleet.start_load()
        await asyncio.sleep(fleet.warm_up_s / 2)
        # "live again" means back to how the fleet ran before the fault: at half of the peak a
        # chunk may wait for its viewer longer than the light load's 1 s
        steady = await fleet.worst_wait(fleet.warm_up_s / 2)
        fleet.fresh_s = max(fleet.fresh_s, 2 * steady)
        observed = await fault.inject(fleet)
        fault_end = time.monotonic()
        finished = fleet.finished_job_ids()
        recovery = await fleet.wait_recovered(fault_end, within_s=fault.recovery_within_s)
        observed += f"; live = no chunk waiting over {fleet.fresh_s:.1f} s (steady before: {steady:.1f} s)"
        if fault.also_compaction and recovery is not None:
            compacted = await fleet.wait_compacted(finished, within_s=120)
            recovery = None if compacted is None else max(recovery, time.monotonic() - fault_end)
        await asyncio.sleep(AFTER_S)
        await fleet.finish_load()
        await fleet.wait_compacted([job.job_id for job in fleet.jobs], within_s=180)
        return await check(fleet, target, fault.name, observed, recovery)
    finally:
        await asyncio.to_thread(fleet.stop_roles)


async def check(fleet: Fleet, target: str, name: str, observed: str, recovery: float | None) -> FaultResult:
    lost = stored = disorder = duplicates = viewer_bad = reconnects = 0
    async with httpx.AsyncClient(base_url=fleet.streamer.base, timeout=30) as client:
        for job in fleet.jobs:
            answer = await client.get(f"/v1/jobs/{job.job_id}/log", headers={"Accept-Encoding": "identity"})
            got, source = answer.content, job.source
            if got == source:
                stored += job.chunks
            elif source.startswith(got):  # a prefix: the rest was lost
                stored += len(got) // job.log.chunk_bytes
                lost += job.chunks - len(got) // job.log.chunk_bytes
            else:
                disorder += 1
            seen = job.seen
            if seen is None or bytes(seen.data) != source:
                viewer_bad += 1
            if seen is not None:
                disorder += seen.out_of_order
                duplicates += seen.duplicates
                reconnects += seen.reconnects
    return FaultResult(
        target=target,
        fault=name,
        observed=observed,
        recovery_s=recovery,
        jobs=len(fleet.jobs),
        chunks=sum(job.confirmed for job in fleet.jobs),
        chunks_stored=stored,
        chunks_lost=lost,
        dead_lettered=await fleet.dead_lettered(),
        out_of_order=disorder,
        duplicates=duplicates,
        viewer_mismatches=viewer_bad,
        reconnects=reconnects,
        backlog_peak=fleet.backlog_peak,
        wait_peak_s=fleet.wait_peak_s,
        load=fleet.load_text(),
    )


def table(results: list[FaultResult], title: str) -> str:
    lines = [
        f"### {title}",
        "",
        "| fault | load | observed | published, confirmed | stored | lost | dead-lettered | out of order "
        "| duplicates | recovery | backlog peak | longest wait |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        recovery = "never" if r.recovery_s is None else f"{r.recovery_s:.1f} s"
        lost = f"{r.chunks_lost}" + (
            f" ({r.viewer_mismatches} viewers differ)" if r.viewer_mismatches else ""
        )
        lines.append(
            f"| {r.fault} | {r.load} | {r.observed}; {r.reconnects} viewer reconnects | "
            f"{r.chunks} chunks, {r.jobs} jobs | {r.chunks_stored} | {lost} | {r.dead_lettered} | "
            f"{r.out_of_order} | "
            f"{r.duplicates} | {recovery} | {r.backlog_peak} chunks | {r.wait_peak_s:.1f} s |"
        )
    lines.append(f"\n_{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}_\n")
    return "\n".join(lines)

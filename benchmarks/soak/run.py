"""One soak, start to end: the pipeline (2 ingesters, a streamer, a compactor) on the real
RabbitMQ and Cassandra; its peak measured first (benchmarks.harness.pipeline_peak) unless a rate is given;
then churning jobs at half of it for the whole duration (benchmarks.soak.churn_publisher), viewers
coming and going (benchmarks.soak.viewers), a sample of every process every interval
(benchmarks.soak.sampler); at the end every log downloaded and compared with its source."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from benchmarks.harness.deployment import Deployment, wait_handled
from benchmarks.harness.fleet import PACE_S, job_named
from benchmarks.harness.paced_publisher import start_together
from benchmarks.harness.pipeline_peak import Peak as PipelinePeak
from benchmarks.harness.pipeline_peak import measure_peak
from benchmarks.soak.results import Footprint, Logs, Options, Peak, ProcessVerdict, Soak, Verdict, Viewers
from benchmarks.soak.sampler import Sampler, listener_pid
from benchmarks.soak.viewers import ViewerTally, run_viewers

RSS_TOLERANCE = 0.10  # end against the sample at minute 10 (the bound)
FD_TOLERANCE = 10  # descriptors: "flat" = within this many of minute 10, or 10% (sockets come and
# go; Cassandra's follow its SSTables, which its own compaction merges and splits)
LAST_SAMPLE_BEFORE_END_S = 5.0
SETTLED_MINUTE = 10.0


@dataclass
class SoakOptions:
    minutes: float
    sample_s: float
    rate: float | None  # chunks/s to offer; None: half of the peak measured first
    probe_rate: float
    probe_seconds: float
    viewers: int
    publishers: int
    mix: str = "realistic"


@dataclass
class Publisher:
    process: asyncio.subprocess.Process
    started: list[str] = field(default_factory=list)
    ended: dict[str, int] = field(default_factory=dict)  # job id -> chunks
    sent: int = 0
    retries: int = 0


async def _read_events(publisher: Publisher, tally: ViewerTally) -> None:
    assert publisher.process.stdout is not None
    async for raw in publisher.process.stdout:
        word, *rest = raw.decode().split()
        if word == "start":
            publisher.started.append(rest[0])
            tally.live_jobs.append(rest[0])
        elif word == "end":
            publisher.ended[rest[0]] = int(rest[1])
            if rest[0] in tally.live_jobs:
                tally.live_jobs.remove(rest[0])
        elif word == "done":
            publisher.sent, publisher.retries = int(rest[0]), int(rest[1])


async def start_publishers(
    deployment: Deployment, tag: str, slots: int, options: SoakOptions, seconds: float
) -> list[Publisher]:
    share = -(-slots // options.publishers)
    arguments = [
        [tag, str(index), str(min(share, slots - index * share)), str(seconds), options.mix]
        for index in range(options.publishers)
        if slots - index * share > 0
    ]
    _, processes = await start_together("benchmarks.soak.churn_publisher", arguments, deployment.settings)
    return [Publisher(process) for process in processes]


async def wait_compacted(base: str, job_ids: list[str], timeout_s: float) -> list[str]:
    """The jobs not compacted within `timeout_s` (each asked about until it is)."""
    deadline = time.monotonic() + timeout_s
    pending = list(job_ids)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while pending and time.monotonic() < deadline:
            answer = await client.get(f"/v1/jobs/{pending[-1]}")
            if answer.status_code == 200 and answer.json()["state"] == "compacted":
                pending.pop()
            else:
                await asyncio.sleep(0.5)
    return pending


async def check_logs(base: str, jobs: dict[str, int], mix: str) -> Logs:
    """Download every job's log and compare it with its source; counts of exact and differing."""
    counts: Logs = {"exact": 0, "differ": 0}
    queue = list(jobs.items())

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            job_id, chunks = queue.pop()
            answer = await client.get(f"/v1/jobs/{job_id}/log", headers={"Accept-Encoding": "identity"})
            exact = answer.status_code == 200 and answer.content == job_named(job_id, chunks, mix).source
            if exact:
                counts["exact"] += 1
            else:
                counts["differ"] += 1

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(8)))
    return counts


def verdict(samples: Sequence[Footprint]) -> Verdict:
    """Each process's RSS and descriptors at the end against the sample nearest minute 10."""
    if not samples:
        return {"rss_ok": False, "fds_ok": False, "processes": {}}
    settled = min(samples, key=lambda row: abs(row["minute"] - SETTLED_MINUTE))
    last = samples[-1]
    processes: dict[str, ProcessVerdict] = {}
    for name, rss in settled["rss_mib"].items():
        end_rss, end_fds = last["rss_mib"].get(name, math.nan), last["fds"].get(name, -1)
        processes[name] = {
            "rss_settled": rss,
            "rss_end": end_rss,
            "rss_change": (end_rss - rss) / rss if rss else math.nan,
            "fds_settled": settled["fds"][name],
            "fds_end": end_fds,
        }
    return {
        "settled_minute": settled["minute"],
        "end_minute": last["minute"],
        "rss_ok": all(abs(p["rss_change"]) <= RSS_TOLERANCE for p in processes.values()),
        "fds_ok": all(
            abs(p["fds_end"] - p["fds_settled"]) <= max(FD_TOLERANCE, 0.1 * p["fds_settled"])
            for p in processes.values()
        ),
        "processes": processes,
    }


def _options(options: SoakOptions) -> Options:
    return {
        "minutes": options.minutes,
        "sample_s": options.sample_s,
        "rate": options.rate,
        "probe_rate": options.probe_rate,
        "probe_seconds": options.probe_seconds,
        "viewers": options.viewers,
        "publishers": options.publishers,
        "mix": options.mix,
    }


def _peak(peak: PipelinePeak) -> Peak:
    return {
        "offered_per_s": peak.offered_per_s,
        "mix": peak.mix,
        "confirmed_per_s": peak.confirmed_per_s,
        "stored_per_s": peak.stored_per_s,
        "stored_mib_per_s": peak.stored_mib_per_s,
        "backlog_grew": peak.backlog_grew,
    }


def _viewers(tally: ViewerTally) -> Viewers:
    return {
        "sessions": tally.sessions,
        "ended": tally.ended,
        "frames": tally.frames,
        "bytes": tally.bytes,
        "wrong_bytes": tally.wrong_bytes,
        "out_of_order": tally.out_of_order,
        "failed": tally.failed,
    }


async def soak(deployment: Deployment, tag: str, options: SoakOptions, say: Callable[[str], None]) -> Soak:
    measured: PipelinePeak | None = None
    if options.rate is None:
        say(f"measuring the pipeline's peak: {options.probe_rate:.0f} chunks/s offered ...")
        measured = await measure_peak(deployment, f"{tag}-peak", options.probe_rate, options.probe_seconds)
        rate = measured.half
        say(
            f"peak {measured.stored_per_s:.0f} chunks/s stored (backlog grew: {measured.backlog_grew}); "
            f"soak at {rate:.0f}"
        )
    else:
        rate = options.rate
    slots = max(1, round(rate * PACE_S))
    seconds = options.minutes * 60
    tally = ViewerTally()
    handled_before = int(await deployment.handled())
    publishers = await start_publishers(deployment, tag, slots, options, seconds)
    readers = [asyncio.create_task(_read_events(p, tally)) for p in publishers]
    servers = {
        "rabbitmq": listener_pid(urlsplit(deployment.settings.urls[0]).port or 5672),
        "cassandra": listener_pid(urlsplit(deployment.store_url.split(",")[0]).port or 9042),
    }
    named = {f"publisher-{i}": p.process.pid for i, p in enumerate(publishers)}
    sampler = Sampler(deployment, {**named, **{k: v for k, v in servers.items() if v}})
    await sampler.begin()
    streamer = deployment.streamers[0].base
    viewing = asyncio.create_task(run_viewers(streamer, options.mix, options.viewers, seconds, tally))
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > LAST_SAMPLE_BEFORE_END_S:
        # the last sample comes just before the publishers end their jobs and exit
        await asyncio.sleep(min(options.sample_s, left - LAST_SAMPLE_BEFORE_END_S))
        row = await sampler.sample(tally)
        say(
            f"minute {row['minute']:.1f}: {row['stored_per_s']:.0f} stored/s, "
            f"p99 {row['stored_p99_ms']:.0f} ms, queue {row['queues']['ingest']}, "
            f"viewers {tally.sessions} sessions, load {row['load_average']:.1f}"
        )
    for publisher in publishers:
        await publisher.process.wait()
    await asyncio.gather(*readers)
    await viewing
    jobs = {job: n for p in publishers for job, n in p.ended.items()}
    sent = sum(p.sent for p in publishers)
    say(f"load over: {len(jobs)} jobs, {sent} chunks; waiting for the backlog and compaction ...")
    drained = await wait_handled(deployment, handled_before + sent, timeout_s=600)
    not_compacted = await wait_compacted(streamer, sorted(jobs, reverse=True), timeout_s=900)
    say(f"checking {len(jobs)} logs byte for byte ...")
    logs = await check_logs(streamer, jobs, options.mix)
    results: Soak = {
        "options": _options(options),
        "rate_per_s": slots / PACE_S,
        "jobs": len(jobs),
        "jobs_started": sum(len(p.started) for p in publishers),
        "chunks_sent": sent,
        "publish_retries": sum(p.retries for p in publishers),
        "drained": drained,
        "not_compacted": len(not_compacted),
        "logs": logs,
        "viewers": _viewers(tally),
        "samples": sampler.samples,
        "verdict": verdict(sampler.samples),
    }
    if measured is not None:
        results["peak"] = _peak(measured)
    return results

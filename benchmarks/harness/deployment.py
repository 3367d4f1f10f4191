"""Our side of a run: real `logstore ingest|stream|compact` processes on one namespaced set of
queues, with what the benchmark reads from them (counters, histograms, memory)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika

from benchmarks.harness.processes import Role, metric_value
from benchmarks.harness.quantiles import histogram_buckets, merge_buckets
from benchmarks.harness.sysinfo import cpu_seconds, peak_rss_mib, rss_mib
from logstore.bus import topology
from logstore.config import BusSettings

SENT_TO_STORED = "logstore_ingest_sent_to_stored_seconds"


@dataclass
class Deployment:
    settings: BusSettings
    store_url: str
    workdir: Path
    ingesters: list[Role] = field(default_factory=list)
    streamers: list[Role] = field(default_factory=list)
    compactors: list[Role] = field(default_factory=list)
    peaks: dict[str, float] = field(default_factory=dict)  # role -> largest peak RSS, MiB
    idle_rss: dict[str, float] = field(default_factory=dict)  # role -> RSS of the last one started, MiB

    def start(self, role: str, count: int = 1) -> list[Role]:
        args = ["--store", self.store_url, "--log-level", "WARNING"]
        started = [Role(role, self.workdir, args, self.settings.as_env()) for _ in range(count)]
        for one in started:
            one.wait_ready()
            self.idle_rss[role] = rss_mib(one.process.pid)
        {"ingest": self.ingesters, "stream": self.streamers, "compact": self.compactors}[role].extend(started)
        return started

    async def handled(self) -> float:
        """Messages the ingesters finished with (stored, duplicate or refused)."""
        pages = await asyncio.gather(*(asyncio.to_thread(r.metrics) for r in self.ingesters))
        return sum(
            metric_value(page, "logstore_ingest_chunks_total")
            + metric_value(page, "logstore_ingest_rejected_total")
            for page in pages
        )

    async def stored_bytes(self) -> float:
        """Bytes of the chunks the ingesters newly stored."""
        pages = await asyncio.gather(*(asyncio.to_thread(r.metrics) for r in self.ingesters))
        return sum(metric_value(page, "logstore_ingest_bytes_total") for page in pages)

    def ingest_cpu_s(self) -> float:
        """CPU seconds used so far by the running ingesters."""
        return sum(cpu_seconds(r.process.pid) for r in self.ingesters if r.process.poll() is None)

    async def stored_latency_buckets(self) -> dict[float, float]:
        pages = await asyncio.gather(*(asyncio.to_thread(r.metrics) for r in self.ingesters))
        return merge_buckets(*(histogram_buckets(page, SENT_TO_STORED) for page in pages))

    def record_peaks(self) -> None:
        for name, roles in (
            ("ingest", self.ingesters),
            ("stream", self.streamers),
            ("compact", self.compactors),
        ):
            for role in roles:
                if role.process.poll() is None:
                    self.peaks[name] = max(self.peaks.get(name, 0.0), peak_rss_mib(role.process.pid))

    async def stop(self) -> None:
        self.record_peaks()
        for role in [*self.ingesters, *self.streamers, *self.compactors]:
            await asyncio.to_thread(role.stop)
        connection = await aio_pika.connect(self.settings.urls[0])
        async with connection:
            await topology.delete_all(await connection.channel(), self.settings)


async def wait_handled(deployment: Deployment, count: int, timeout_s: float, poll_s: float = 0.2) -> bool:
    """Wait until the ingesters handled `count` messages; False on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while await deployment.handled() < count:
        if loop.time() > deadline:
            return False
        await asyncio.sleep(poll_s)
    return True

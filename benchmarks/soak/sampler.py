"""What a long run records at every sample: the resident memory and open file descriptors of every
process (ours, the publishers, RabbitMQ, Cassandra), the queues' depths, and the interval's
publish -> stored and stored -> sent latency percentiles and stored chunks/s."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from dataclasses import dataclass, field

import aio_pika

from benchmarks.harness.deployment import SENT_TO_STORED, Deployment
from benchmarks.harness.processes import metric_value
from benchmarks.harness.quantiles import bucket_quantile, histogram_buckets, merge_buckets
from benchmarks.harness.sysinfo import rss_mib
from benchmarks.soak.results import Queues, Sample
from benchmarks.soak.viewers import ViewerTally

STORED_TO_SENT = "logstore_stream_stored_to_sent_seconds"


def listener_pid(port: int) -> int | None:
    """The pid of the process listening on TCP `port` on this machine (a server we did not start)."""
    done = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False)
    for part in done.stdout.split("pid=")[1:]:
        return int(part.split(",", 1)[0])
    return None


def safe_rss_mib(pid: int) -> float:
    try:
        return rss_mib(pid)
    except OSError:  # gone (a publisher that finished): no figure
        return float("nan")


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


@dataclass
class Sampler:
    deployment: Deployment
    processes: dict[str, int]  # name -> pid, besides the deployment's roles
    samples: list[Sample] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    _stored: dict[float, float] = field(default_factory=dict)
    _sent: dict[float, float] = field(default_factory=dict)
    _chunks: float = 0.0
    _at: float = field(default_factory=time.monotonic)

    def pids(self) -> dict[str, int]:
        named = dict(self.processes)
        for kind, roles in (
            ("ingest", self.deployment.ingesters),
            ("stream", self.deployment.streamers),
            ("compact", self.deployment.compactors),
        ):
            for number, role in enumerate(roles, 1):
                named[f"{kind}-{number}" if len(roles) > 1 else kind] = role.process.pid
        return named

    async def _queue_depths(self) -> Queues:
        settings = self.deployment.settings
        connection = await aio_pika.connect(settings.urls[0])
        async with connection:
            channel = await connection.channel()

            async def ready(queue: str) -> int:
                declared = await channel.declare_queue(queue, passive=True)
                return declared.declaration_result.message_count or 0

            return {
                "ingest": await ready(settings.ingest_queue),
                "compact": await ready(settings.compact_queue),
            }

    async def _counters(self) -> tuple[dict[float, float], dict[float, float], float]:
        ingest_pages = [await asyncio.to_thread(r.metrics) for r in self.deployment.ingesters]
        stream_pages = [await asyncio.to_thread(r.metrics) for r in self.deployment.streamers]
        stored = merge_buckets(*(histogram_buckets(p, SENT_TO_STORED) for p in ingest_pages))
        sent = merge_buckets(*(histogram_buckets(p, STORED_TO_SENT) for p in stream_pages))
        chunks = sum(metric_value(p, "logstore_ingest_chunks_total") for p in ingest_pages)
        return stored, sent, chunks

    async def begin(self) -> None:
        """Start the intervals now: what came before (the peak probe) is not in the first one."""
        self._stored, self._sent, self._chunks = await self._counters()
        self.started = self._at = time.monotonic()

    async def sample(self, tally: ViewerTally) -> Sample:
        stored, sent, chunks = await self._counters()
        now = time.monotonic()
        stored_delta = merge_buckets(stored, minus=self._stored) if self._stored else stored
        sent_delta = merge_buckets(sent, minus=self._sent) if self._sent else sent
        row: Sample = {
            "minute": round((now - self.started) / 60, 2),
            "rss_mib": {},
            "fds": {},
            "queues": await self._queue_depths(),
            "stored_per_s": round((chunks - self._chunks) / max(1e-9, now - self._at), 1),
            "stored_p50_ms": round(bucket_quantile(stored_delta, 50) * 1000, 1),
            "stored_p99_ms": round(bucket_quantile(stored_delta, 99) * 1000, 1),
            "sent_p50_ms": round(bucket_quantile(sent_delta, 50) * 1000, 1),
            "sent_p99_ms": round(bucket_quantile(sent_delta, 99) * 1000, 1),
            "viewer_sessions": tally.sessions,
            "viewer_frames": tally.frames,
            "viewer_errors": tally.wrong_bytes + tally.out_of_order,
            "load_average": os.getloadavg()[0],
        }
        for name, pid in self.pids().items():
            row["rss_mib"][name] = round(safe_rss_mib(pid), 1)
            row["fds"][name] = open_fds(pid)
        self._stored, self._sent, self._chunks, self._at = stored, sent, chunks, now
        self.samples.append(row)
        return row

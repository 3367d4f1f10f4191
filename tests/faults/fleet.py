"""Steady load for the fault suite: a CI fleet in miniature on the real RabbitMQ and Cassandra.

`slots` jobs run at once, each a worker sending its log in order, one chunk every `interval_s`
(the realistic pace), published with confirms and retried until confirmed, as a real worker must;
when a job sends its final chunk a new one takes its slot. Chunks are 1.6 KB (`mix` "realistic",
the light load of `make test`) or of sizes from 1.6 KB to 1 MiB ("mixed", `make faults` at half
of the measured peak, with slots = rate x interval). Every job has a live viewer from its first
chunk to its end. Behind them: 2 ingesters, a streamer and a compactor, each a real `logstore`
process that the fault scenarios kill and restart."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import httpx

from benchmarks.harness.fleet import JobLog, job_named
from benchmarks.harness.processes import Role, metric_value
from logstore.bus.amqp import within
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings
from tests.faults.follower import Followed, follow

PUBLISH_WAIT_S = 10.0


@dataclass
class SentJob:
    log: JobLog
    confirmed: int = 0  # chunks 0..confirmed-1 are confirmed by the broker
    confirmed_at: list[float] = field(default_factory=list)  # monotonic time of each confirm
    seen: Followed | None = None  # what its live viewer has received so far
    viewer: asyncio.Task[Followed] | None = None

    @property
    def job_id(self) -> str:
        return self.log.job_id

    @property
    def chunks(self) -> int:
        return self.log.chunks

    @property
    def received(self) -> int:
        return self.seen.next_clock if self.seen is not None else 0

    @property
    def source(self) -> bytes:
        return self.log.source


@dataclass
class Fleet:
    store_url: str
    bus: BusSettings
    workdir: Path
    prefix: str
    slots: int = 12
    chunks_per_job: int = 30  # at most; jobs vary in length so they finish at different times
    interval_s: float = 0.5
    mix: str = "realistic"
    rate_note: str = ""  # where the rate came from (half of a measured peak)
    warm_up_s: float = 6.0  # load before the fault
    fresh_s: float = 1.0  # live: no confirmed chunk waits for its viewer longer (raised to the steady state)
    viewer_patience_s: float = 600.0  # a viewer that has not seen its job's end by then gives up
    viewer_backoff_max_s: float | None = None  # None: reconnect after 0.2-0.5 s; else back off (follower)
    jobs: list[SentJob] = field(default_factory=list)
    roles: dict[str, list[Role]] = field(default_factory=dict)
    publish_retries: int = 0
    backlog_peak: int = 0  # the most confirmed chunks not yet at their viewers, over the whole run
    wait_peak_s: float = 0.0  # the longest a confirmed chunk waited for its viewer, over the run
    _stopping: bool = False
    _workers: list[asyncio.Task[None]] = field(default_factory=list)
    _watching: asyncio.Task[None] | None = None
    _rng: random.Random = field(default_factory=lambda: random.Random(7))
    _reconnecting: asyncio.Lock = field(default_factory=asyncio.Lock)

    # --- processes ------------------------------------------------------------------------------

    def start_roles(self) -> None:
        env = {
            **self.bus.as_env(),
            "LOGSTORE_GRACE_S": "1",  # compaction soon after the final chunk
            "LOGSTORE_RETRY_S": "1",
            "LOGSTORE_LEASE_S": "5",  # a killed compactor's lease lapses soon (default 120 s)
            "LOGSTORE_SWEEP_INTERVAL_S": "5",  # requests lost with the broker are found again
            "LOGSTORE_SEND_TIMEOUT_S": "5",
        }
        store = ["--store", self.store_url, "--log-level", "WARNING"]
        self.roles = {
            "ingest": [Role("ingest", self.workdir, store, env) for _ in range(2)],
            "stream": [Role("stream", self.workdir, store, env)],
            "compact": [Role("compact", self.workdir, store, env)],
        }
        for roles in self.roles.values():
            for role in roles:
                role.wait_ready()

    def stop_roles(self) -> None:
        for roles in self.roles.values():
            for role in roles:
                role.stop()

    @property
    def streamer(self) -> Role:
        return self.roles["stream"][0]

    # --- load -------------------------------------------------------------------------------------

    def _new_job(self) -> SentJob:
        """The next job: a corpus log (benchmarks.harness.fleet.job_named) of a random length in chunks."""
        chunks = self._rng.randint(self.chunks_per_job // 4, self.chunks_per_job)
        job = SentJob(job_named(f"{self.prefix}-{len(self.jobs):05d}", chunks, self.mix))
        self.jobs.append(job)
        return job

    async def _publish_confirmed(self, publisher: list[ChunkPublisher], job: SentJob, clock: int) -> None:
        """Publish until the broker confirms (a worker never drops a chunk), reconnecting if needed.
        Any failure counts, including a publish that neither confirms nor fails within 10 s."""
        failures = 0
        while True:
            current = publisher[0]
            try:
                final = clock == job.chunks - 1
                sending = current.publish(job.job_id, clock, job.log.piece(clock), final, time.time())
                await within(sending, PUBLISH_WAIT_S, "publish")
                job.confirmed_at.append(time.monotonic())
                job.confirmed = clock + 1
                return
            except Exception:  # BusUnavailable, a timeout, a channel in a bad state: retry
                failures += 1
                self.publish_retries += 1
                await asyncio.sleep(min(2.0, 0.1 * 2**failures) * (0.5 + self._rng.random()))
                if failures % 5 == 0:  # the connection itself may be gone for good: a new one
                    await self._reconnect(publisher, current)

    async def _reconnect(self, publisher: list[ChunkPublisher], broken: ChunkPublisher) -> None:
        """Replace `broken` with a new connection, once, however many slots saw it fail."""
        async with self._reconnecting:
            if publisher[0] is not broken:
                return  # another slot already replaced it
            try:
                publisher[0] = await within(ChunkPublisher.connect(self.bus), PUBLISH_WAIT_S, "connect")
            except Exception:  # still down: keep the old one (it reconnects by itself too)
                return
            with contextlib.suppress(Exception):
                await within(broken.close(), 5, "close")

    async def _send(self, publisher: list[ChunkPublisher], job: SentJob, paced: bool = True) -> None:
        """A job's chunks in order, each confirmed; its viewer connects after the first."""
        for clock in range(job.chunks):
            await self._publish_confirmed(publisher, job, clock)
            if clock == 0:
                job.seen = Followed(job.job_id)
                following = follow(
                    self.streamer.base, job.seen, self.viewer_patience_s, self.viewer_backoff_max_s
                )
                job.viewer = asyncio.create_task(following)
            if paced and not self._stopping:  # once stopping, the rest goes at full speed
                await asyncio.sleep(self.interval_s)

    async def _slot(self, publisher: list[ChunkPublisher]) -> None:
        while not self._stopping:
            await self._send(publisher, self._new_job())

    async def burst(self, jobs: int, chunks: int, chunk_bytes: int) -> None:
        """`jobs` extra jobs at once, each sending `chunks` chunks of `chunk_bytes` as fast as the
        broker confirms them (a build dumping an artifact into its log); checked like the rest."""
        sent = []
        for _ in range(jobs):
            log = job_named(f"{self.prefix}-{len(self.jobs):05d}", chunks)
            sent.append(SentJob(JobLog(log.job_id, log.text_index, chunks, chunk_bytes)))
            self.jobs.append(sent[-1])
        await asyncio.gather(*(self._send(self._publisher, job, paced=False) for job in sent))

    async def start_load(self) -> None:
        publisher = [await ChunkPublisher.connect(self.bus)]
        self._publisher = publisher
        self._workers = [asyncio.create_task(self._slot(publisher)) for _ in range(self.slots)]
        self._watching = asyncio.create_task(self._watch_backlog())

    async def _watch_backlog(self) -> None:
        while True:
            self.backlog_peak = max(self.backlog_peak, self.delivery_lag())
            self.wait_peak_s = max(self.wait_peak_s, self.oldest_undelivered_s())
            await asyncio.sleep(0.2)

    async def finish_load(self, within_s: float = 300) -> None:
        """Let every running job send the rest of its log; wait until all viewers saw the end."""
        self._stopping = True
        await within(asyncio.gather(*self._workers), within_s, "workers finishing")
        viewers = [job.viewer for job in self.jobs if job.viewer is not None]
        try:
            await within(asyncio.gather(*viewers), within_s, "viewers ending")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; still waiting: {self.stuck_viewers()}\n{self.diagnosis()}") from None
        if self._watching is not None:
            self._watching.cancel()
        await self._publisher[0].close()

    # --- observation -------------------------------------------------------------------------------

    def diagnosis(self) -> str:
        """What each process says about itself, for a run that did not finish: the ingesters'
        consuming and breaker gauges, and the end of every process's log."""
        parts = []
        for kind, roles in self.roles.items():
            for role in roles:
                state = f"{kind} pid {role.process.pid} (exit {role.process.poll()})"
                if kind == "ingest":
                    try:
                        page = role.metrics()
                        consuming = metric_value(page, "logstore_ingest_consuming")
                        breaker = metric_value(page, "logstore_ingest_store_breaker_state")
                        oldest = metric_value(page, "logstore_ingest_oldest_unstored_seconds")
                        state += f", consuming {consuming:.0f}, breaker {breaker:.0f}"
                        state += f", oldest unstored {oldest:.0f} s"
                    except Exception as exc:  # a diagnosis never fails
                        state += f", metrics unreadable: {exc!r}"
                tail = role.log_path.read_text(errors="replace")[-2000:] if role.log_path.exists() else ""
                parts.append(f"--- {state}\n{tail}")
        return "\n".join(parts)

    async def dead_lettered(self) -> int:
        """Messages in this fleet's dead-letter queue now (AMQP passive declare), through the first
        broker URL that answers: whatever the broker dead-lettered past the ingest queue's
        x-delivery-limit and whatever the ingesters refused."""
        failure: Exception | None = None
        for url in self.bus.urls:
            try:
                connection = await aio_pika.connect(url, timeout=10)
            except Exception as exc:  # a cluster node that is down: the next one
                failure = exc
                continue
            async with connection:
                channel = await connection.channel()
                declared = await channel.declare_queue(self.bus.dead_letter_queue, passive=True)
                return declared.declaration_result.message_count or 0
        raise RuntimeError(f"no broker answered for the dead-letter queue's depth: {failure!r}")

    async def dead_letter_sample(self, count: int = 20) -> list[str]:
        """What the first `count` dead letters are (job, clock, why, deliveries), read and left in
        the queue (taken unacknowledged; closing the channel puts them back)."""
        keys = ("job_id", "clock", "x-logstore-reason", "x-first-death-reason", "x-delivery-count")
        connection = await aio_pika.connect(self.bus.urls[0], timeout=10)
        found = []
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(self.bus.dead_letter_queue, passive=True)
            for _ in range(count):
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                headers = message.headers or {}
                found.append(", ".join(f"{key}={headers.get(key)!r}" for key in keys if key in headers))
        return found

    async def ingest_metric(self, name: str) -> float:
        """The sum of a metric over the ingesters (every sample of it, any labels)."""
        pages = await asyncio.gather(*(asyncio.to_thread(role.metrics) for role in self.roles["ingest"]))
        return sum(metric_value(page, name) for page in pages)

    def load_text(self) -> str:
        rate = self.slots / self.interval_s
        sizes = "1.6 KB chunks" if self.mix == "realistic" else "1.6 KB-1 MiB chunks"
        return f"{rate:.0f} chunks/s of {sizes}, {self.slots} jobs at once{self.rate_note}"

    def stuck_viewers(self) -> str:
        """The viewers that have not seen their job's end: what they got against what was sent."""
        return "; ".join(
            f"{job.job_id} got {job.received} of {job.confirmed} confirmed "
            f"({job.chunks} in all), {job.seen.reconnects} reconnects"
            for job in self.jobs
            if job.seen is not None and not job.seen.ended
        )

    @staticmethod
    async def _worst(measure: Callable[[], float], seconds: float) -> float:
        """The largest value of `measure` seen every 0.1 s for `seconds`."""
        worst = 0.0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            worst = max(worst, measure())
            await asyncio.sleep(0.1)
        return worst

    async def watch_lag(self, seconds: float) -> int:
        """Sleep through a fault, returning the largest delivery backlog seen meanwhile (it counts
        towards the row's backlog peak too: this samples more often than the background watch)."""
        lag = int(await self._worst(self.delivery_lag, seconds))
        self.backlog_peak = max(self.backlog_peak, lag)
        return lag

    def delivery_lag(self) -> int:
        """Confirmed chunks not yet received by their job's viewer, over all jobs."""
        return sum(max(0, job.confirmed - job.received) for job in self.jobs)

    def oldest_undelivered_s(self) -> float:
        """Age of the oldest confirmed chunk that its viewer has not received yet (0: none)."""
        now, oldest = time.monotonic(), 0.0
        for job in self.jobs:
            if job.received < job.confirmed:
                oldest = max(oldest, now - job.confirmed_at[job.received])
        return oldest

    def delivered_since(self, moment: float) -> bool:
        """True once some chunk confirmed after `moment` has reached its viewer."""
        return any(
            job.received > clock
            for job in self.jobs
            for clock, at in enumerate(job.confirmed_at)
            if at > moment
        )

    async def worst_wait(self, seconds: float) -> float:
        """The longest any confirmed chunk waited for its viewer, watched for `seconds`."""
        return await self._worst(self.oldest_undelivered_s, seconds)

    async def wait_recovered(self, fault_end: float, within_s: float) -> float | None:
        """Seconds from `fault_end` until the pipeline is live again: chunks confirmed after the
        fault reach viewers, and no confirmed chunk is waiting longer than `fresh_s` (the backlog
        the fault built up is delivered). None if that never happens within `within_s`."""
        while time.monotonic() - fault_end < within_s:
            if self.delivered_since(fault_end) and self.oldest_undelivered_s() < self.fresh_s:
                return time.monotonic() - fault_end
            await asyncio.sleep(0.05)
        return None

    async def wait_compacted(self, job_ids: list[str], within_s: float) -> float | None:
        started = time.monotonic()
        pending = set(job_ids)
        async with httpx.AsyncClient(base_url=self.streamer.base, timeout=5) as client:
            while pending and time.monotonic() - started < within_s:
                for job_id in list(pending):
                    try:
                        answer = await client.get(f"/v1/jobs/{job_id}")
                    except httpx.TransportError:
                        break
                    if answer.status_code == 200 and answer.json()["state"] == "compacted":
                        pending.discard(job_id)
                if pending:
                    await asyncio.sleep(0.2)
        return None if pending else time.monotonic() - started

    def finished_job_ids(self) -> list[str]:
        return [job.job_id for job in self.jobs if job.confirmed == job.chunks]

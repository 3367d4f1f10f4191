"""A simulated CI fleet: jobs that each emit a real corpus log, repeated to the size wanted, in
numbered chunks like a worker sends them (in order, each awaited), either paced (`realistic`: one
chunk per job every 500 ms) or as fast as the sink takes them (`saturation`).

A job's chunks are cut on demand from the corpus text, so 10,000 live jobs cost no memory; the
sink is any coroutine taking (job_id, clock, data, final, sent_at): an AMQP publisher with
confirms, or a database write."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache

from benchmarks.harness.corpus import corpus_files

CHUNK_BYTES = 1600  # "about 1.6 KB every 500 ms" per job, as the source talk measured
PACE_S = 0.5

Sink = Callable[[str, int, bytes, bool, float], Awaitable[None]]


@cache
def corpus_texts() -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of every corpus log of at least one chunk, doubled for wrap-around slicing."""
    return tuple(
        (f"{p.parent.name}/{p.name}", p.read_bytes())
        for p in corpus_files()
        if p.stat().st_size >= CHUNK_BYTES // 4
    )


@dataclass(frozen=True)
class JobLog:
    """One job's log: corpus file `text_index` repeated from its start, cut into `chunks` chunks."""

    job_id: str
    text_index: int
    chunks: int
    chunk_bytes: int = CHUNK_BYTES

    @property
    def corpus_name(self) -> str:
        return corpus_texts()[self.text_index][0]

    def piece(self, clock: int) -> bytes:
        text = corpus_texts()[self.text_index][1]
        start = clock * self.chunk_bytes
        out = bytearray()
        while len(out) < self.chunk_bytes:
            at = (start + len(out)) % len(text)
            out += text[at : at + self.chunk_bytes - len(out)]
        return bytes(out)

    @property
    def size(self) -> int:
        return self.chunks * self.chunk_bytes

    @property
    def source(self) -> bytes:
        return b"".join(self.piece(clock) for clock in range(self.chunks))


# Chunk sizes a job may use, with their share of jobs: "realistic" is the source talk's 1.6 KB;
# "mixed" adds the larger chunks of busy builds (a test runner's report, a dumped artifact).
SIZE_MIXES: dict[str, tuple[tuple[int, float], ...]] = {
    "realistic": ((CHUNK_BYTES, 1.0),),
    "mixed": ((CHUNK_BYTES, 0.80), (16 * 1024, 0.14), (64 * 1024, 0.05), (1024 * 1024, 0.01)),
}


def chunk_size(job_id: str, mix: str) -> int:
    """The chunk size of a job in the mix, from a hash of its id (the same in every process)."""
    share = (zlib.crc32(job_id.encode()) >> 8) % 10_000 / 10_000
    for size, fraction in SIZE_MIXES[mix]:
        if share < fraction:
            return size
        share -= fraction
    return SIZE_MIXES[mix][-1][0]


def job_named(job_id: str, chunks: int, mix: str = "realistic") -> JobLog:
    """The log of a job from its id alone: its corpus text and chunk size follow from a hash of
    the id, so that a process seeing only the id (a viewer, the final check) knows every byte."""
    text_index = zlib.crc32(job_id.encode()) % len(corpus_texts())
    return JobLog(job_id, text_index, chunks, chunk_size(job_id, mix))


def make_fleet(tag: str, jobs: int, chunks: int) -> list[JobLog]:
    """`jobs` logs of `chunks` chunks; job i repeats corpus file i (mod the corpus)."""
    return fleet_slice(tag, 0, jobs, chunks)


def fleet_slice(tag: str, first: int, count: int, chunks: int, mix: str = "realistic") -> list[JobLog]:
    """The jobs of make_fleet(tag, ...) numbered first..first+count-1 (one publisher's share);
    with a mix other than "realistic", each job's chunk size is drawn from it (chunk_size)."""
    texts = len(corpus_texts())
    return [
        JobLog(job_id, index % texts, chunks, chunk_size(job_id, mix))
        for index in range(first, first + count)
        for job_id in [f"{tag}-{index:05d}"]
    ]


@dataclass
class FleetRun:
    started: dict[str, float] = field(default_factory=dict)  # job id -> unix time of its first send
    sent: int = 0  # chunks the sink accepted (confirmed)
    bytes: int = 0
    first_send: float = 0.0  # unix time
    last_done: float = 0.0
    errors: int = 0


async def run_fleet(
    jobs: list[JobLog], sink: Sink, pace_s: float | None, until: float | None = None
) -> FleetRun:
    """Every job sends its chunks in order, each awaited. With `pace_s`, job i starts at i/len of
    one interval and sends one chunk per interval (on a fixed schedule: a slow sink makes it late,
    never faster); without it, as fast as the sink allows. `until` (unix time) stops early."""
    run = FleetRun(first_send=time.time())

    async def job(index: int, log: JobLog) -> None:
        begin = time.monotonic() + (pace_s * index / len(jobs) if pace_s else 0.0)
        for clock in range(log.chunks):
            if pace_s:
                await asyncio.sleep(max(0.0, begin + clock * pace_s - time.monotonic()))
            now = time.time()
            if until is not None and now >= until:
                return
            if clock == 0:
                run.started[log.job_id] = now
            data = log.piece(clock)
            try:
                await sink(log.job_id, clock, data, clock == log.chunks - 1, now)
            except Exception:
                run.errors += 1
                return
            run.sent += 1
            run.bytes += len(data)
            run.last_done = time.time()

    await asyncio.gather(*(job(index, log) for index, log in enumerate(jobs)))
    return run

"""A CI fleet in miniature for the ingest tests: jobs cut from the corpus, published shuffled
with duplicates, then checked byte for byte against their sources."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass

from benchmarks.harness.corpus import corpus_files
from logstore.bus.publisher import ChunkPublisher
from logstore.errors import BusUnavailable, JobNotFound
from logstore.store import LogStore


@dataclass
class Job:
    job_id: str
    pieces: list[bytes]

    @property
    def source(self) -> bytes:
        return b"".join(self.pieces)


def make_jobs(prefix: str, jobs: int, chunks: int, seed: int = 1) -> list[Job]:
    """`jobs` logs of `chunks` chunks each (100-400 bytes), cut from corpus files repeated."""
    rng = random.Random(seed)
    texts = [p.read_bytes() for p in corpus_files() if p.stat().st_size > 1000]
    made = []
    for index in range(jobs):
        text = texts[index % len(texts)]
        sizes = [rng.randint(100, 400) for _ in range(chunks)]
        need = sum(sizes)
        offset = rng.randrange(len(text))
        stream = (text[offset:] + text * (need // len(text) + 2))[:need]
        pieces, at = [], 0
        for size in sizes:
            pieces.append(stream[at : at + size])
            at += size
        made.append(Job(f"{prefix}-{index:04d}", pieces))
    return made


def messages(jobs: list[Job], duplicate_share: float, seed: int = 2) -> list[tuple[str, int, bytes, bool]]:
    """Every chunk of every job once, plus `duplicate_share` of them again, all shuffled."""
    rng = random.Random(seed)
    items = [
        (job.job_id, clock, piece, clock == len(job.pieces) - 1)
        for job in jobs
        for clock, piece in enumerate(job.pieces)
    ]
    items += rng.sample(items, int(len(items) * duplicate_share))
    rng.shuffle(items)
    return items


async def publish(
    publisher: ChunkPublisher, items: list[tuple[str, int, bytes, bool]], window: int = 500
) -> None:
    """Publish with confirms, `window` messages in flight."""
    semaphore = asyncio.Semaphore(window)

    async def one(item: tuple[str, int, bytes, bool]) -> None:
        async with semaphore:
            await publish_confirmed(publisher, *item)

    await asyncio.gather(*(one(item) for item in items))


async def publish_confirmed(
    publisher: ChunkPublisher, job_id: str, clock: int, data: bytes, final: bool, within_s: float = 120
) -> None:
    """Publish until the broker confirms, as a worker does: a confirm that did not come in time
    (a loaded broker) means "send it again", never "drop it"."""
    deadline = time.monotonic() + within_s
    for attempt in itertools.count():
        try:
            await publisher.publish(job_id, clock, data, final)
            return
        except BusUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(min(2.0, 0.1 * 2**attempt) * random.uniform(0.5, 1.0))


async def wait_complete(store: LogStore, jobs: list[Job], within_s: float, poll_s: float = 1.0) -> list[str]:
    """Wait until every job is complete in the store; return the ids still incomplete at the end."""
    pending = {job.job_id for job in jobs}
    deadline = time.monotonic() + within_s
    while pending and time.monotonic() < deadline:
        for job_id in list(pending):
            try:  # the cheap status first; the full summary only once the final chunk is in
                if (await store.job_status(job_id)).final_clock is None:
                    continue
                if (await store.get_job(job_id)).complete:
                    pending.discard(job_id)
            except JobNotFound:
                pass
            except Exception:  # the store itself may be down in fault tests: keep polling
                await asyncio.sleep(1)
                break
        if pending:
            await asyncio.sleep(poll_s)
    return sorted(pending)


async def mismatches(store: LogStore, jobs: list[Job]) -> list[str]:
    """The ids of jobs whose stored log differs from the source in any byte or chunk count."""
    bad = []
    for job in jobs:
        items = [item async for item in store.read_chunks(job.job_id)]
        if [c for c, _ in items] != list(range(len(job.pieces))) or b"".join(
            d for _, d in items
        ) != job.source:
            bad.append(job.job_id)
    return bad

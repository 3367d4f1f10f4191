"""Compaction through real processes on Cassandra and RabbitMQ: concurrent compactors, a
compactor killed mid-job, and readers hammering jobs while they are compacted."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable

import httpx
import pytest

from benchmarks.harness.processes import Role, metric_value
from benchmarks.harness.viewer import watch
from benchmarks.harness.workload import Job, make_jobs
from logstore.bus.amqp import AmqpBus
from logstore.chunk import Chunk
from logstore.config import BusSettings
from logstore.store import JobState
from logstore.store.cassandra.backend import CassandraStore
from tests.polling import eventually, metric

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(900)]


async def store_jobs(store: CassandraStore, jobs: list[Job]) -> None:
    chunks = [
        Chunk.create(job.job_id, clock, piece, final=clock == len(job.pieces) - 1)
        for job in jobs
        for clock, piece in enumerate(job.pieces)
    ]
    random.Random(9).shuffle(chunks)
    for start in range(0, len(chunks), 200):
        await store.put_chunks(chunks[start : start + 200])


async def request_all(settings: BusSettings, jobs: list[Job], times: int) -> None:
    bus = await AmqpBus.connect(settings)
    try:
        for _ in range(times):
            for job in jobs:
                await bus.request_compaction(job.job_id)
    finally:
        await bus.close()


async def wait_compacted(store: CassandraStore, jobs: list[Job], within_s: float) -> list[str]:
    pending = {job.job_id for job in jobs}
    for _ in range(int(within_s)):
        for job_id in list(pending):
            if (await store.job_status(job_id)).state is JobState.COMPACTED:
                pending.discard(job_id)
        if not pending:
            break
        await asyncio.sleep(1)
    return sorted(pending)


async def wrong_archives(store: CassandraStore, jobs: list[Job]) -> list[str]:
    """Jobs whose archive does not hold exactly their source, once, in order."""
    bad = []
    for job in jobs:
        source = job.source
        archive = await store.archive_info(job.job_id)
        refs = await store.segment_refs(job.job_id)
        sizes = [size for ref in refs for size in ref.sizes]
        if (
            archive is None
            or archive.sha256 != hashlib.sha256(source).hexdigest()
            or archive.raw_bytes != len(source)
            or [ref.index for ref in refs] != list(range(archive.segments))
            or sizes != [len(piece) for piece in job.pieces]
            or [c async for c in store.read_chunks(job.job_id)] != []
        ):
            bad.append(job.job_id)
    return bad


async def test_five_hundred_jobs_by_three_compactors(
    compactors: Callable[..., list[Role]],
    cassandra_store: CassandraStore,
    bus_settings: BusSettings,
    job_id: str,
) -> None:
    jobs = make_jobs(job_id, 500, 20, seed=71)
    await store_jobs(cassandra_store, jobs)
    roles = compactors(3)  # all three up before the requests come: each gets a share, however slow
    await request_all(bus_settings, jobs, times=2)  # every job requested twice
    assert await wait_compacted(cassandra_store, jobs, within_s=300) == []
    assert await wrong_archives(cassandra_store, jobs) == []
    pages = [role.metrics() for role in roles]
    compacted = sum(metric_value(p, 'logstore_compactor_jobs_total{outcome="compacted"}') for p in pages)
    assert compacted == 500  # each job archived exactly once, whatever the duplicates
    assert all(metric_value(p, 'logstore_compactor_jobs_total{outcome="compacted"}') > 0 for p in pages)


async def test_a_compactor_killed_mid_job_then_restarted(
    compactors: Callable[..., list[Role]],
    cassandra_store: CassandraStore,
    bus_settings: BusSettings,
    job_id: str,
) -> None:
    jobs = make_jobs(job_id, 60, 400, seed=81)  # about 100 KB each: compaction takes a moment
    await store_jobs(cassandra_store, jobs)
    await request_all(bus_settings, jobs, times=1)
    short_lease = {"LOGSTORE_LEASE_S": "3", "LOGSTORE_RETRY_S": "1"}
    victim, survivor = compactors(2, env=short_lease)

    async def victim_busy() -> bool:
        return await metric(victim.base, "logstore_compactor_in_progress") > 0

    await eventually(victim_busy)  # so that it really dies in the middle of a job
    victim.kill()  # SIGKILL mid-job: its lease expires, its requests are redelivered
    compactors(1, env=short_lease)  # and a new one takes its place
    assert await wait_compacted(cassandra_store, jobs, within_s=300) == []
    assert await wrong_archives(cassandra_store, jobs) == []
    assert metric_value(survivor.metrics(), 'logstore_compactor_jobs_total{outcome="compacted"}') > 0


async def test_readers_see_the_same_bytes_before_during_and_after_compaction(
    compactors: Callable[..., list[Role]],
    streamer: Role,
    cassandra_store: CassandraStore,
    bus_settings: BusSettings,
    job_id: str,
) -> None:
    jobs = make_jobs(job_id, 40, 300, seed=91)
    await store_jobs(cassandra_store, jobs)
    done = asyncio.Event()
    reads = {"download": 0, "range": 0, "offset": 0, "tail": 0}
    failures: list[str] = []

    async def reader(seed: int) -> None:
        rng = random.Random(seed)
        identity = {"Accept-Encoding": "identity"}  # the zstd passthrough is tested on its own
        async with httpx.AsyncClient(base_url=streamer.base, timeout=30, headers=identity) as client:
            while not done.is_set():
                job = rng.choice(jobs)
                source = job.source
                kind = rng.choice(list(reads))
                url = f"/v1/jobs/{job.job_id}/log"
                if kind == "download":
                    got = (await client.get(url)).content
                    expected = source
                elif kind == "range":
                    first = rng.randrange(len(source))
                    last = rng.randrange(first, len(source))
                    got = (await client.get(url, headers={"Range": f"bytes={first}-{last}"})).content
                    expected = source[first : last + 1]
                elif kind == "offset":
                    offset = rng.randrange(len(source))
                    got = (await client.get(url, params={"offset": offset})).content
                    expected = source[offset:]
                else:
                    start = rng.randrange(len(job.pieces))
                    got = bytes((await watch(streamer.base, job.job_id, start)).data)
                    expected = b"".join(job.pieces[start:])
                reads[kind] += 1
                if got != expected:
                    failures.append(f"{kind} of {job.job_id}")

    def each_kind_read(times: int, since: dict[str, int]) -> Callable[[], bool]:
        return lambda: all(reads[kind] >= since[kind] + times for kind in reads)

    readers = [asyncio.create_task(reader(seed)) for seed in range(20)]
    await eventually(each_kind_read(6, dict.fromkeys(reads, 0)), within_s=120)  # on chunks first
    await request_all(bus_settings, jobs, times=1)
    compactors(2)
    assert await wait_compacted(cassandra_store, jobs, within_s=300) == []
    await eventually(each_kind_read(6, dict(reads)), within_s=120)  # and on archives after
    done.set()
    await asyncio.gather(*readers)
    assert failures == []
    assert min(reads.values()) > 10
    assert await wrong_archives(cassandra_store, jobs) == []

"""Parallel ingesters from RabbitMQ into Cassandra: whatever the order, duplication, number of
ingesters or crashes, every job's log comes out byte-identical to its source."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from benchmarks.harness.corpus import CORPUS
from benchmarks.harness.processes import Role, metric_value, run_cli
from benchmarks.harness.workload import make_jobs, messages, mismatches, publish, wait_complete
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings
from logstore.store.cassandra.backend import CassandraStore
from tests.integration.amqp_fixtures import created, drain_queue
from tests.polling import eventually

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(600)]

JOBS, CHUNKS, DUPLICATES = 200, 300, 0.05


async def until(condition: Callable[[], bool], within_s: float) -> None:
    for _ in range(int(within_s * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def test_four_ingesters_shuffled_with_duplicates(
    ingesters: Callable[..., list[Role]],
    publisher: ChunkPublisher,
    cassandra_store: CassandraStore,
    bus_settings: BusSettings,
    job_id: str,
) -> None:
    roles = ingesters(4)
    jobs = make_jobs(job_id, JOBS, CHUNKS)
    await publish(publisher, messages(jobs, DUPLICATES))
    assert await wait_complete(cassandra_store, jobs, within_s=300) == []
    assert await mismatches(cassandra_store, jobs) == []
    # every chunk was created at least once; only a duplicate racing its original through two
    # ingesters at the same moment can be counted twice (both writes carry the same bytes)
    assert JOBS * CHUNKS <= created(roles) <= JOBS * CHUNKS * (1 + DUPLICATES)
    # all four competed for the work
    assert all(metric_value(r.metrics(), "logstore_ingest_batch_size_count") > 0 for r in roles)
    # each finished job was handed to the compactors
    requests = await drain_queue(bus_settings, bus_settings.compact_queue)
    assert {m.body.decode() for m in requests} == {job.job_id for job in jobs}


async def test_an_ingester_killed_mid_run_loses_and_doubles_nothing(
    ingesters: Callable[..., list[Role]],
    publisher: ChunkPublisher,
    cassandra_store: CassandraStore,
    job_id: str,
) -> None:
    roles = ingesters(4)
    jobs = make_jobs(job_id, JOBS, CHUNKS, seed=11)
    publishing = asyncio.create_task(publish(publisher, messages(jobs, DUPLICATES, seed=12)))
    await until(lambda: created(roles) > JOBS * CHUNKS / 4, within_s=120)
    roles[0].kill()  # SIGKILL: its unacknowledged messages go back to the queue
    assert roles[1].stop() == 0  # SIGTERM: drains its batch, hands back the rest, exits cleanly
    await publishing
    assert await wait_complete(cassandra_store, jobs, within_s=300) == []
    assert await mismatches(cassandra_store, jobs) == []


async def test_push_via_amqp_with_confirms(
    ingesters: Callable[..., list[Role]],
    cassandra_store: CassandraStore,
    bus_settings: BusSettings,
    job_id: str,
) -> None:
    ingesters(1)
    source = (CORPUS / "buildkite" / "npm.sh.raw").read_bytes()
    pushed = await asyncio.to_thread(
        run_cli,
        ["push", "--via", "amqp", "--job", job_id, "--chunk-size", "1600", "-"],
        source,
        120,
        bus_settings.as_env(),
    )
    assert pushed.returncode == 0, pushed.stderr

    async def final_stored() -> bool:
        return (await cassandra_store.job_status(job_id)).final_clock is not None

    await eventually(final_stored, poll_s=0.1, what="the final chunk stored")
    items = [item async for item in cassandra_store.read_chunks(job_id)]
    assert b"".join(data for _, data in items) == source
    assert len(items) == -(-len(source) // 1600)

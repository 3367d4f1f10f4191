"""Ingest under faults: Cassandra stopped for 20 s mid-run, and poison messages of every kind
interleaved with good jobs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aio_pika
import pytest

from benchmarks.harness.processes import Role, metric_value
from benchmarks.harness.workload import make_jobs, messages, mismatches, publish, wait_complete
from logstore.bus.messages import REASON_HEADER
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings
from logstore.store.cassandra.backend import CassandraStore
from tests.integration.amqp_fixtures import created, drain_queue, queue_depth
from tests.polling import eventually, metric
from tests.servers import server_script

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(900)]


async def test_cassandra_stopped_for_twenty_seconds_mid_run(
    ingesters: Callable[..., list[Role]],
    publisher: ChunkPublisher,
    cassandra_store: CassandraStore,
    bus_settings: BusSettings,
    job_id: str,
) -> None:
    roles = ingesters(2)
    jobs = make_jobs(job_id, 100, 300, seed=21)
    publishing = asyncio.create_task(publish(publisher, messages(jobs, 0.05, seed=22)))
    for _ in range(600):
        if created(roles) >= 5000:
            break
        await asyncio.sleep(0.2)
    await asyncio.to_thread(server_script, "cassandra", "down")
    down_at = time.monotonic()

    async def paused() -> list[float]:
        return [await metric(r.base, "logstore_ingest_consuming") for r in roles]

    async def both_paused() -> bool:
        return await paused() == [0.0, 0.0]

    # however long this machine takes to notice, both stop taking messages while the store is down
    await eventually(both_paused, within_s=180, poll_s=0.5, what="both ingesters paused")
    await asyncio.sleep(max(0.0, 20 - (time.monotonic() - down_at)))  # down for 20 s at least
    paused_while_down = await paused()
    await asyncio.to_thread(server_script, "cassandra", "up")
    await publishing
    assert await wait_complete(cassandra_store, jobs, within_s=300) == []
    assert await mismatches(cassandra_store, jobs) == []
    assert paused_while_down == [0.0, 0.0]  # while the store was down, neither ingester took messages
    pages = [r.metrics() for r in roles]
    for page in pages:
        assert metric_value(page, 'logstore_ingest_store_breaker_transitions_total{state="open"}') >= 1
        assert metric_value(page, 'logstore_ingest_store_breaker_transitions_total{state="closed"}') >= 1
        assert metric_value(page, "logstore_ingest_store_breaker_state") == 0
        assert metric_value(page, "logstore_ingest_consuming") == 1
    assert await queue_depth(bus_settings, bus_settings.ingest_queue) == 0


async def raw_publish(settings: BusSettings, body: bytes, headers: dict[str, object] | None) -> None:
    connection = await aio_pika.connect(settings.bus)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(settings.chunks_exchange)
        await exchange.publish(aio_pika.Message(body, headers=headers), routing_key="")  # type: ignore[arg-type]


async def test_poison_messages_are_dead_lettered_with_their_reason(
    ingesters: Callable[..., list[Role]],
    publisher: ChunkPublisher,
    cassandra_store: CassandraStore,
    bus_settings: BusSettings,
    job_id: str,
) -> None:
    ingesters(2, "--max-chunk-bytes", "1000")
    good = make_jobs(f"{job_id}-good", 20, 12, seed=31)
    items = messages(good, 0.05, seed=32)
    poison: list[tuple[bytes, dict[str, object] | None, str]] = [
        (b"no headers", None, "malformed_headers"),
        (b"id not text", {"job_id": 42, "clock": 0}, "malformed_headers"),
        (b"clock as text", {"job_id": f"{job_id}-p1", "clock": "5"}, "malformed_headers"),
        (b"clock missing", {"job_id": f"{job_id}-p2"}, "malformed_headers"),
        (b"final not bool", {"job_id": f"{job_id}-p3", "clock": 0, "final": "yes"}, "malformed_headers"),
        (b"sent_at text", {"job_id": f"{job_id}-p4", "clock": 0, "sent_at": "now"}, "malformed_headers"),
        (b"space in id", {"job_id": "bad id", "clock": 0}, "invalid_job_id"),
        (b"long id", {"job_id": "a" * 129, "clock": 0}, "invalid_job_id"),
        (b"path in id", {"job_id": "../etc/passwd", "clock": 0}, "invalid_job_id"),
        # the message that once stopped all ingestion: pamqp 3 could not re-encode it to dead-letter it
        (b"negative clock", {"job_id": f"{job_id}-p5", "clock": -3}, "invalid_clock"),
        (b"wide negative clock", {"job_id": f"{job_id}-p7", "clock": -300}, "invalid_clock"),
        (b"x" * 1001, {"job_id": f"{job_id}-p6", "clock": 0}, "chunk_too_large"),
    ]
    half = len(items) // 2
    for body, headers, _ in poison:  # interleaved with the good jobs
        await raw_publish(bus_settings, body, headers)
    await publish(publisher, items[:half])
    await raw_publish(bus_settings, b"after half", {"job_id": 7, "clock": 1})
    await publish(publisher, items[half:])
    assert await wait_complete(cassandra_store, good, within_s=120) == []
    # now contradict what is stored: other bytes for a stored clock, a chunk after the final one
    target = good[0]
    await publisher.publish(target.job_id, 0, target.pieces[0] + b"tampered")
    await publisher.publish(target.job_id, len(target.pieces), b"after the end")
    expected = sorted([reason for _, _, reason in poison] + ["malformed_headers", "conflict", "conflict"])

    async def all_dead_lettered() -> bool:
        return await queue_depth(bus_settings, bus_settings.dead_letter_queue) >= len(expected)

    await eventually(all_dead_lettered, poll_s=0.1, what=f"{len(expected)} dead letters")
    dead = await drain_queue(bus_settings, bus_settings.dead_letter_queue)
    reasons = sorted(str((m.headers or {})[REASON_HEADER]) for m in dead)
    assert reasons == expected
    assert {m.body for m in dead} >= {body for body, _, _ in poison}
    assert await mismatches(cassandra_store, good) == []
    for _, headers, _ in poison:  # nothing of the refused messages reached the store
        if headers and isinstance(headers.get("job_id"), str) and str(headers["job_id"]).startswith(job_id):
            assert [c async for c in cassandra_store.read_chunks(str(headers["job_id"]))] == []


async def test_a_log_over_the_limit_is_dead_lettered(
    ingesters: Callable[..., list[Role]],
    publisher: ChunkPublisher,
    cassandra_store: CassandraStore,
    bus_settings: BusSettings,
    job_id: str,
) -> None:
    # exact with one ingester; with several the limit allows a bounded slack (ingest/log_limit.py)
    ingesters(1, "--max-log-bytes", "5000")
    for clock in range(6):  # the sixth chunk would take the log to 6000 bytes
        await publisher.publish(job_id, clock, bytes([65 + clock]) * 1000)

    async def dead_lettered() -> bool:
        return await queue_depth(bus_settings, bus_settings.dead_letter_queue) >= 1

    await eventually(dead_lettered, poll_s=0.1, what="a dead letter")
    dead = await drain_queue(bus_settings, bus_settings.dead_letter_queue)
    assert [str((m.headers or {})[REASON_HEADER]) for m in dead] == ["log_too_large"]
    info = await cassandra_store.get_job(job_id)
    assert (info.bytes, info.chunks) == (5000, 5)

"""The consumer under failures nobody foresaw, on the real RabbitMQ: a message that makes the
handler raise is dead-lettered `handler_error` after `handler_attempts` deliveries while the
other messages are stored; the queue's own delivery limit dead-letters what never reaches the
handler; SIGTERM stops an ingester cleanly, with no error lines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import aio_pika
import pytest

from benchmarks.harness.processes import Role
from benchmarks.harness.workload import make_jobs, messages, mismatches, publish, wait_complete
from ingest.consumer import AmqpIngester
from ingest.service import IngestService
from logstore.bus.amqp import AmqpBus
from logstore.bus.messages import ERROR_HEADER, REASON_HEADER
from logstore.bus.publisher import ChunkPublisher
from logstore.chunk import Chunk
from logstore.config import BusSettings, LimitsSettings
from logstore.store.sqlite import SQLiteStore
from tests.integration.amqp_fixtures import created, drain_queue, queue_depth

pytestmark = [pytest.mark.rabbitmq, pytest.mark.timeout(300)]


class BuggyService(IngestService):
    """An ingest service with a bug that only one job's chunks reach."""

    def validate(self, job_id: object, clock: object, data: bytes, final: bool) -> Chunk:
        if isinstance(job_id, str) and job_id.endswith("-trigger"):
            raise RuntimeError("an unforeseen bug")
        return super().validate(job_id, clock, data, final)


async def wait_depth(settings: BusSettings, queue: str, depth: int, within_s: float = 120) -> int:
    for _ in range(int(within_s * 10)):
        if (now := await queue_depth(settings, queue)) >= depth:
            return now
        await asyncio.sleep(0.1)
    return await queue_depth(settings, queue)


async def test_a_message_the_handler_fails_on_is_dead_lettered_and_ingestion_goes_on(
    bus_settings: BusSettings, tmp_path: Path, job_id: str
) -> None:
    settings = bus_settings.model_copy(update={"handler_attempts": 3})
    bus = await AmqpBus.connect(settings)
    store = SQLiteStore(tmp_path / "db.sqlite")
    ingester = AmqpIngester(BuggyService(store, bus, LimitsSettings()), bus)
    running = asyncio.create_task(ingester.run())
    publisher = await ChunkPublisher.connect(settings)
    try:
        jobs = make_jobs(job_id, 4, 30, seed=5)
        items = messages(jobs, 0.0, seed=6)
        await publish(publisher, items[:60])
        await publisher.publish(f"{job_id}-trigger", 0, b"this chunk meets the bug")
        await publish(publisher, items[60:])
        assert await wait_complete(store, jobs, within_s=120) == []
        assert await mismatches(store, jobs) == []
        assert await wait_depth(settings, settings.dead_letter_queue, 1) == 1
        (dead,) = await drain_queue(settings, settings.dead_letter_queue)
        headers = dead.headers or {}
        assert (headers[REASON_HEADER], dead.body) == ("handler_error", b"this chunk meets the bug")
        assert "failed 3 times" in str(headers[ERROR_HEADER])
        assert "an unforeseen bug" in str(headers[ERROR_HEADER])
        assert [c async for c in store.read_chunks(f"{job_id}-trigger")] == []
        assert await queue_depth(settings, settings.ingest_queue) == 0
        assert not running.done()  # the ingester carried on
        more = make_jobs(f"{job_id}-after", 1, 10, seed=7)
        await publish(publisher, messages(more, 0.0))
        assert await wait_complete(store, more, within_s=60) == []
    finally:
        ingester.stop()
        await running
        await publisher.close()
        await bus.close()
        await store.close()


async def test_the_queue_dead_letters_a_message_past_its_delivery_limit(bus_settings: BusSettings) -> None:
    """What kills its consumer before the handler sees it (each delivery ends with the channel
    closing, as a crash would) leaves the queue after `delivery_limit` deliveries."""
    settings = bus_settings.model_copy(update={"delivery_limit": 2})
    publisher = await ChunkPublisher.connect(settings)  # declares the queue with its limit
    await publisher.publish("limit-job", 0, b"kills every consumer")
    await publisher.close()
    deliveries = 0
    for _ in range(10):
        connection = await aio_pika.connect(settings.bus)
        channel = await connection.channel()
        queue = await channel.get_queue(settings.ingest_queue, ensure=False)
        message = await queue.get(fail=False, no_ack=False)
        await connection.close()  # unacked: back to the queue, one more delivery counted
        if message is None:
            break
        deliveries += 1
    assert deliveries == settings.delivery_limit + 1
    (dead,) = await drain_queue(settings, settings.dead_letter_queue)
    assert dead.body == b"kills every consumer"
    assert (dead.headers or {}).get("x-first-death-reason") == "delivery_limit"


async def test_sigterm_stops_an_ingester_without_error_lines(
    ingesters: Callable[..., list[Role]], publisher: ChunkPublisher, job_id: str
) -> None:
    (role,) = ingesters(1)
    jobs = make_jobs(job_id, 20, 200, seed=9)
    publishing = asyncio.create_task(publish(publisher, messages(jobs, 0.0)))
    for _ in range(1200):  # stop it mid-stream: batches in hand, deliveries arriving
        if created([role]) >= 500:
            break
        await asyncio.sleep(0.1)
    assert await asyncio.to_thread(role.stop) == 0
    await publishing
    lines = role.log_path.read_text().splitlines()
    errors = [line for line in lines if _level(line) in ("error", "critical") or "never retrieved" in line]
    assert errors == []
    assert [line for line in lines if "Traceback" in line] == []


def _level(line: str) -> str | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return str(entry.get("level")) if isinstance(entry, dict) else None

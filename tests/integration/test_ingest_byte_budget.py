"""The ingester's byte budget, on the real RabbitMQ: prefetch counts messages, so 400 large ones
would all be taken at once; with `max_bytes_in_flight` the ingester stops taking deliveries past
the budget while the store is slow, and takes the rest as stored chunks are acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from pathlib import Path

import pytest

from ingest.consumer import AmqpIngester
from ingest.service import IngestService, Outcome
from logstore.bus.amqp import AmqpBus
from logstore.bus.publisher import ChunkPublisher
from logstore.chunk import Chunk
from logstore.config import BusSettings, LimitsSettings
from logstore.store.sqlite import SQLiteStore
from tests.integration.amqp_fixtures import queue_depth
from tests.polling import eventually

pytestmark = [pytest.mark.rabbitmq, pytest.mark.timeout(300)]
KiB = 1024
CHUNK = 256 * KiB
BUDGET = 1024 * KiB


class GatedService(IngestService):
    """Stores nothing until the gate opens: a slow store, as far as the ingester can tell."""

    gate: asyncio.Event

    async def ingest_batch(
        self, chunks: Sequence[Chunk], private_jobs: Collection[str] = ()
    ) -> list[Outcome]:
        await self.gate.wait()
        return await super().ingest_batch(chunks, private_jobs)


async def test_an_ingester_holds_no_more_bytes_than_its_budget(
    bus_settings: BusSettings, tmp_path: Path, job_id: str
) -> None:
    settings = bus_settings.model_copy(update={"max_bytes_in_flight": BUDGET, "prefetch": 400})
    bus = await AmqpBus.connect(settings)
    store = SQLiteStore(tmp_path / "db.sqlite")
    service = GatedService(store, bus, LimitsSettings(max_chunk_bytes=CHUNK))
    service.gate = asyncio.Event()
    ingester = AmqpIngester(service, bus)
    running = asyncio.create_task(ingester.run())
    publisher = await ChunkPublisher.connect(settings)
    count = 40  # 10 MiB: all of it within the prefetch of 400 messages
    try:
        for clock in range(count):
            await publisher.publish(job_id, clock, bytes([65 + clock % 26]) * CHUNK, final=clock == count - 1)

        async def taken() -> bool:
            return ingester._held_bytes >= BUDGET

        await eventually(taken, poll_s=0.05, what="the budget filled")
        await asyncio.sleep(1.0)  # time for the broker to send more, if it were asked to
        held = ingester._held_bytes
        # the budget, plus what the broker had on the wire when the consumer was cancelled
        assert BUDGET <= held <= BUDGET + 4 * CHUNK, held
        assert await queue_depth(settings, settings.ingest_queue) >= count - (BUDGET + 4 * CHUNK) // CHUNK

        service.gate.set()

        async def all_stored() -> bool:
            return len([clock async for clock, _ in store.read_chunks(job_id)]) == count

        await eventually(all_stored, poll_s=0.1, what="every chunk stored")
        stored = [data async for _, data in store.read_chunks(job_id)]
        assert stored == [bytes([65 + clock % 26]) * CHUNK for clock in range(count)]

        async def settled() -> bool:
            return ingester._held_bytes == 0

        await eventually(settled, poll_s=0.05, what="nothing held")
        assert await queue_depth(settings, settings.ingest_queue) == 0
    finally:
        service.gate.set()
        ingester.stop()
        await running
        await publisher.close()
        await bus.close()
        await store.close()

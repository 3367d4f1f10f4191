"""The log limit is exact for one ingester storing several batches at once: a chunk admitted by one
batch counts against every other batch until its store call returns."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from ingest.service import IngestService
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import LimitsSettings
from logstore.errors import LogTooLarge
from logstore.store import PutOutcome, PutResult
from logstore.store.sqlite import SQLiteStore


class SlowStore(SQLiteStore):
    """Holds each write until the test lets it through."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writing = asyncio.Event()
        self.go_on = asyncio.Event()

    async def put_chunks(self, chunks: Sequence[Chunk]) -> list[PutOutcome]:
        self.writing.set()
        await self.go_on.wait()
        return await super().put_chunks(chunks)


async def test_two_batches_in_flight_cannot_pass_the_limit_together(tmp_path: Path) -> None:
    store = SlowStore(tmp_path / "db.sqlite")
    service = IngestService(store, MemoryBus(), LimitsSettings(max_log_bytes=5000))
    try:
        store.go_on.set()
        for clock in range(4):  # 4000 of 5000 bytes stored
            assert await service.ingest(Chunk.create("job", clock, b"a" * 1000)) is PutResult.CREATED
        store.go_on.clear()
        store.writing.clear()
        first = asyncio.create_task(service.ingest_batch([Chunk.create("job", 4, b"b" * 1000)]))
        await store.writing.wait()  # the first batch is admitted and now being stored
        second = await service.ingest_batch([Chunk.create("job", 5, b"c" * 1000)])
        assert isinstance(second[0], LogTooLarge)  # the first one's bytes were counted
        store.go_on.set()
        assert await first == [PutResult.CREATED]
        third = await service.ingest_batch([Chunk.create("job", 5, b"c" * 1000)])
        assert isinstance(third[0], LogTooLarge)  # and are counted once stored
        assert (await store.get_job("job")).bytes == 5000
    finally:
        await store.close()


async def test_a_failed_write_gives_its_reservation_back(tmp_path: Path) -> None:
    store = SlowStore(tmp_path / "db.sqlite")
    service = IngestService(store, MemoryBus(), LimitsSettings(max_log_bytes=2000))
    try:
        store.go_on.set()
        assert await service.ingest(Chunk.create("job", 0, b"a" * 1000)) is PutResult.CREATED
        store.go_on.clear()
        store.writing.clear()
        failing = asyncio.create_task(service.ingest_batch([Chunk.create("job", 1, b"b" * 1000)]))
        await store.writing.wait()
        failing.cancel()  # the write never returns (a timeout, a cancelled request)
        await asyncio.gather(failing, return_exceptions=True)
        store.go_on.set()
        assert await service.ingest(Chunk.create("job", 1, b"b" * 1000)) is PutResult.CREATED
    finally:
        await store.close()

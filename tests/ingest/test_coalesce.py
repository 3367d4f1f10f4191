"""Concurrent single-chunk writes share store batches: nothing waits for a timer, every chunk gets
its own outcome, an outage reaches exactly the waiters of its batch."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import pytest

from ingest.coalesce import WRITES_IN_FLIGHT, Outcome, WriteCoalescer
from ingest.service import IngestService
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import LimitsSettings
from logstore.errors import ChunkConflict, StoreUnavailable
from logstore.store import PutResult
from logstore.store.sqlite import SQLiteStore


class Recorder:
    """A batch writer that records each call and, while `gate` is clear, holds them."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], set[str]]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next: BaseException | None = None

    async def __call__(self, chunks: Sequence[Chunk], private: Collection[str]) -> list[Outcome]:
        self.calls.append(([c.clock for c in chunks], set(private)))
        await self.gate.wait()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        return [PutResult.CREATED if c.clock % 2 == 0 else PutResult.DUPLICATE for c in chunks]


def chunk(clock: int, job: str = "job") -> Chunk:
    return Chunk.create(job, clock, b"x")


async def test_a_lone_write_is_stored_at_once_as_its_own_batch() -> None:
    writer = Recorder()
    coalescer = WriteCoalescer(writer)
    assert await coalescer.write(chunk(0)) is PutResult.CREATED
    assert await coalescer.write(chunk(1), private=True) is PutResult.DUPLICATE
    assert writer.calls == [([0], set()), ([1], {"job"})]


async def settled(condition: Callable[[], bool]) -> None:
    """Let the loop run until `condition` holds (a few passes; no clock involved)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("never held")


def expected(clocks: range) -> list[Outcome]:
    return [PutResult.CREATED if n % 2 == 0 else PutResult.DUPLICATE for n in clocks]


async def test_writes_arriving_while_batches_are_stored_form_one_batch() -> None:
    writer = Recorder()
    writer.gate.clear()
    coalescer = WriteCoalescer(writer)
    first: list[asyncio.Task[object]] = []

    def calls_are(count: int) -> bool:
        return len(writer.calls) == count

    for n in range(WRITES_IN_FLIGHT):  # one at a time: each is taken alone and held at the gate
        first.append(asyncio.create_task(coalescer.write(chunk(n))))
        await settled(functools.partial(calls_are, n + 1))
    later = [asyncio.create_task(coalescer.write(chunk(n))) for n in range(100, 200)]
    await settled(lambda: coalescer.waiting == 100)
    writer.gate.set()
    outcomes = await asyncio.gather(*first, *later)
    assert outcomes == expected(range(WRITES_IN_FLIGHT)) + expected(range(100, 200))
    # the hundred that waited went out together, in their order of arrival
    assert [clocks for clocks, _ in writer.calls] == [[n] for n in range(WRITES_IN_FLIGHT)] + [
        list(range(100, 200))
    ]


async def test_an_outage_reaches_the_waiters_of_its_batch_only() -> None:
    writer = Recorder()
    writer.gate.clear()
    writer.fail_next = StoreUnavailable("cassandra: down")
    coalescer = WriteCoalescer(writer)
    failing = asyncio.create_task(coalescer.write(chunk(0)))
    await asyncio.sleep(0)
    writer.gate.set()
    with pytest.raises(StoreUnavailable):
        await failing
    assert await coalescer.write(chunk(2)) is PutResult.CREATED


async def test_a_caller_that_gives_up_leaves_the_others_their_answers() -> None:
    errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
    writer = Recorder()
    writer.gate.clear()
    coalescer = WriteCoalescer(writer)
    kept = asyncio.create_task(coalescer.write(chunk(0)))
    dropped = asyncio.create_task(coalescer.write(chunk(1)))
    await asyncio.sleep(0)
    dropped.cancel()
    writer.gate.set()
    assert await kept is PutResult.CREATED
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert sorted(clock for clocks, _ in writer.calls for clock in clocks) == [0, 1]  # both stored
    assert errors == []


async def test_concurrent_puts_through_the_service_get_the_outcomes_of_one_after_the_other(
    tmp_path: Path,
) -> None:
    """Copies and conflicting copies of one clock, among other chunks, all at once on SQLite:
    exactly one is created, the identical ones are duplicates, the others conflicts."""
    store = SQLiteStore(tmp_path / "db.sqlite")
    service = IngestService(store, MemoryBus(), LimitsSettings())
    try:
        same = [Chunk.create("job", 7, b"same\n") for _ in range(20)]
        other = [Chunk.create("job", 7, b"other\n") for _ in range(20)]
        rest = [Chunk.create("job", clock, b"%d\n" % clock) for clock in range(7)]
        calls = [service.ingest(c) for c in [*same, *other, *rest]]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        first = outcomes[:40]
        assert first.count(PutResult.CREATED) == 1
        created = first.index(PutResult.CREATED)
        winners, losers = (same, other) if created < 20 else (other, same)
        assert sum(o is PutResult.DUPLICATE for o in first) == len(winners) - 1
        assert sum(isinstance(o, ChunkConflict) for o in first) == len(losers)
        assert outcomes[40:] == [PutResult.CREATED] * 7
        stored = b"".join([data async for _, data in store.read_chunks("job")])
        assert stored == b"".join(c.data for c in rest) + winners[0].data
    finally:
        await store.close()

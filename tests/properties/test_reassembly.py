"""Property tests (hypothesis) of the logic that restores order: whatever the arrival order,
duplication, losses and chunk sizes, readers get every clock once, in order, byte for byte."""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stream.tail
from compactor.segmenter import Segmenter
from logstore.bus import Announcement
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.store.archive import chunks_of
from logstore.store.rules import summarise_clocks
from logstore.store.sqlite import SQLiteStore
from stream.byte_range import Unsatisfiable, parse_range
from stream.fanout import LiveHub
from stream.tail import ChunkEvent, EndEvent, GapEvent, Tail

PIECES = st.lists(st.binary(max_size=40), min_size=1, max_size=40)


@given(clocks=st.sets(st.integers(0, 60), max_size=40), final=st.one_of(st.none(), st.integers(0, 70)))
def test_summary_partitions_the_clocks(clocks: set[int], final: int | None) -> None:
    stored = sorted(c for c in clocks if final is None or c <= final)
    total, count, missing, prefix, prefix_bytes = summarise_clocks([(c, c + 1) for c in stored], final)
    top = final if final is not None else (stored[-1] if stored else -1)
    absent = {c for a, b in missing for c in range(a, b + 1)}
    assert absent.isdisjoint(stored)
    assert absent | set(stored) == set(range(top + 1))  # every clock is stored or reported missing
    assert all(a <= b for a, b in missing)
    assert (total, count) == (sum(c + 1 for c in stored), len(stored))
    assert prefix == next((c for c in range(top + 2) if c not in stored), top + 1)
    assert prefix_bytes == sum(c + 1 for c in stored if c < prefix)


@given(pieces=PIECES, hole=st.one_of(st.none(), st.integers(0, 39)), segment_bytes=st.integers(1024, 1100))
def test_segments_give_back_exactly_the_chunks(
    pieces: list[bytes], hole: int | None, segment_bytes: int
) -> None:
    kept = [(c, p) for c, p in enumerate(pieces) if c != hole]
    segmenter = Segmenter(3, segment_bytes)
    segments = [s for clock, piece in kept for s in segmenter.add(clock, piece)] + segmenter.flush()
    assert [item for s in segments for item in chunks_of(s)] == kept
    offset = 0
    for index, segment in enumerate(segments):
        assert (segment.ref.index, segment.ref.raw_offset) == (index, offset)
        offset += segment.ref.raw_size
        clocks = [c for c, _ in chunks_of(segment)]
        assert clocks == list(range(clocks[0], clocks[0] + len(clocks)))  # never across a hole


@given(length=st.integers(0, 50), first=st.integers(0, 60), last=st.integers(0, 60), suffix=st.booleans())
def test_ranges_match_python_slices(length: int, first: int, last: int, suffix: bool) -> None:
    data = bytes(range(length))
    header = f"bytes=-{last}" if suffix else f"bytes={first}-{last}"
    try:
        wanted = parse_range(header, length)
    except Unsatisfiable:
        if suffix:
            assert last == 0 or length == 0
        else:
            assert first >= length or last < first
        return
    assert wanted is not None
    a, b = wanted
    expected = data[-last:] if suffix else data[first : last + 1]
    assert data[a : b + 1] == expected
    assert expected  # a satisfiable range is never empty


@pytest.fixture(autouse=True)
def quick_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gaps are filled from the store after GAP_WAIT_S; keep the property runs short."""
    monkeypatch.setattr(stream.tail, "GAP_WAIT_S", 0.01)
    monkeypatch.setattr(stream.tail, "IDLE_CHECK_S", (0.01, 0.05))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=PIECES, seed=st.integers(0, 2**32), lost=st.floats(0, 0.5), duplicated=st.floats(0, 0.5))
def test_tail_restores_order_whatever_the_arrivals(
    pieces: list[bytes], seed: int, lost: float, duplicated: float
) -> None:
    """Chunks stored in a random order, each announced after it is stored; some announcements
    lost, some repeated: the tail sends every clock once, in order, then the end."""

    async def scenario(directory: str) -> list[ChunkEvent | GapEvent | EndEvent]:
        store = SQLiteStore(Path(directory) / "db.sqlite")
        bus = MemoryBus()
        rng = random.Random(seed)
        order = list(range(len(pieces)))
        rng.shuffle(order)
        tail = Tail(store, LiveHub(bus), "job", 0)

        async def writer() -> None:
            await asyncio.sleep(0.005)  # let the tail subscribe
            for clock in order:
                final = clock == len(pieces) - 1
                await store.put_chunk(Chunk.create("job", clock, pieces[clock], final=final))
                announcement = Announcement("job", clock, pieces[clock], final)
                for _ in range(0 if rng.random() < lost else 1 + (rng.random() < duplicated)):
                    await bus.announce(announcement)
                await asyncio.sleep(0)

        writing = asyncio.create_task(writer())
        try:
            events = [e async for e in tail.events()]
            await writing
            return events
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as directory:
        events = asyncio.run(asyncio.wait_for(scenario(directory), 30))
    chunks = [e for e in events if isinstance(e, ChunkEvent)]
    assert [e.clock for e in chunks] == list(range(len(pieces)))
    assert [e.data for e in chunks] == pieces
    assert events[-1] == EndEvent(len(pieces) - 1)

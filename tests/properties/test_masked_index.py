"""Property tests (hypothesis) of the masked log's index (stream/masked_index.py), with
checkpoints every few bytes so that reads start in the middle of secrets, runs of overlapping
secrets and chains of matches: a masked slice from any start is the same slice of the whole
masked log, a masker rebuilt at any clock is in the state of one fed the log from byte 0, and an
index is extended as a running log grows and never used for another log under the same id."""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stream.masked_index
import stream.masking_lane
from compactor.archive_job import ArchiveJob, Outcome
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings
from logstore.store.sqlite import SQLiteStore
from stream.download import open_view
from stream.masked_index import index_of, masked_slice, masker_at
from stream.masking import Masker
from tests.properties.test_masking import cuts, logs_with_secrets, naive_mask, tail_frames
from tests.properties.test_masking import quick_tail as quick_tail


@pytest.fixture(autouse=True)
def tiny_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream.masked_index, "CHECKPOINT_BYTES", 3)
    monkeypatch.setattr(stream.masked_index, "STEP_BYTES", 2)
    # every piece through the masking thread, in steps of 2 bytes
    monkeypatch.setattr(stream.masking_lane, "INLINE_BYTES", 0)
    monkeypatch.setattr(stream.masking_lane, "STEP_BYTES", 2)


async def collect(pieces: AsyncIterator[bytes]) -> bytes:
    return b"".join([p async for p in pieces])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=logs_with_secrets(), seed=st.integers(0, 2**32), span=st.data())
def test_a_slice_from_any_start_is_the_slice_of_the_masked_log(
    case: tuple[bytes, list[bytes]], seed: int, span: st.DataObject
) -> None:
    log, secrets = case
    reference = naive_mask(log, secrets)
    pieces = cuts(log, seed)
    starts = span.draw(st.lists(st.integers(0, len(reference) + 1), min_size=1, max_size=6))
    running = span.draw(st.integers(0, len(pieces)))  # clocks stored before the final ones

    async def scenario(directory: str) -> None:
        store = SQLiteStore(Path(directory) / "db.sqlite")
        try:
            chunks = [Chunk.create("job", c, p, final=c == len(pieces) - 1) for c, p in enumerate(pieces)]
            if running:  # a running log: its index covers a prefix, then is extended
                await store.put_chunks(chunks[:running])
                view = await open_view(store, "job")
                index = await index_of(store, view, secrets)
                shown = await collect(masked_slice(store, view, index, 0))
                assert reference.startswith(shown)
                assert index.length(view) == len(shown)
            await store.put_chunks(chunks[running:])
            for archived in (False, True):
                view = await open_view(store, "job")
                index = await index_of(store, view, secrets)
                assert index.length(view) == len(reference)
                assert await collect(masked_slice(store, view, index, 0)) == reference
                for first in starts:
                    last = first + span.draw(st.integers(0, 8))
                    got = await collect(masked_slice(store, view, index, first, last))
                    assert got == reference[first : last + 1], (first, last)
                for clock in range(len(pieces)):
                    rebuilt = await masker_at(store, view, index, clock)
                    unbroken = Masker(secrets)
                    for piece in pieces[:clock]:
                        unbroken.feed(piece)
                    assert (rebuilt.fed, rebuilt.released) == (unbroken.fed, unbroken.released), (
                        log,
                        secrets,
                        pieces,
                        clock,
                        running,
                        archived,
                        index.raw,
                        index.masked,
                    )
                    rest = b"".join(pieces[clock:])
                    assert rebuilt.feed(rest) + rebuilt.flush() == unbroken.feed(rest) + unbroken.flush()
                frames = [(f.clock, f.data) for f in await tail_frames(store, secrets, 0, MemoryBus())]
                for clock in {0, 1, len(pieces) // 2, len(pieces) - 1, len(pieces)}:
                    resumed = await tail_frames(store, secrets, clock, MemoryBus())
                    assert [(f.clock, f.data) for f in resumed] == frames[clock:]
                if not archived:
                    settings = CompactSettings(segment_bytes=1024, grace_s=0.1)
                    assert await ArchiveJob(store, settings, "me").run("job") is Outcome.COMPACTED
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(asyncio.wait_for(scenario(directory), 60))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=logs_with_secrets(), other=st.binary(min_size=1, max_size=40), seed=st.integers(0, 2**32))
def test_an_index_is_never_used_for_another_log_under_the_same_id(
    case: tuple[bytes, list[bytes]], other: bytes, seed: int
) -> None:
    """A job deleted and written again under its id, with chunks of the same sizes: the index of
    the first log is not used for the second."""
    log, secrets = case
    pieces = cuts(log, seed)
    rng = random.Random(seed)
    second = [bytes(rng.choice(b"abcd") for _ in p) for p in pieces]

    async def scenario(directory: str) -> None:
        store = SQLiteStore(Path(directory) / "db.sqlite")
        try:
            for version in (pieces, second):
                await store.delete_job("job")
                await store.put_chunks(
                    [Chunk.create("job", c, p, final=c == len(version) - 1) for c, p in enumerate(version)]
                )
                view = await open_view(store, "job")
                index = await index_of(store, view, secrets)
                masked = naive_mask(b"".join(version), secrets)
                assert index.length(view) == len(masked)
                assert await collect(masked_slice(store, view, index, 1)) == masked[1:]
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(asyncio.wait_for(scenario(directory), 60))

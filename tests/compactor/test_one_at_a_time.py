"""Two compaction requests for one job in one compactor (a duplicate final chunk makes two), on
SQLite and Cassandra: the second waits for the first and settles as already compacted; one
archive, no failure, no retry, and the log reads back byte for byte."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from compactor import metrics
from compactor.worker import CompactionWorker
from logstore.bus.interface import WorkItem
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings
from logstore.store import JobState, LogStore
from logstore.store.archive import Segment, decompress
from tests.polling import GENEROUS_S, eventually


class SettlingItem(WorkItem):
    def __init__(self, item: WorkItem, settled: list[str]) -> None:
        self.job_id = item.job_id
        self._item = item
        self._settled = settled

    async def done(self) -> None:
        self._settled.append("done")
        await self._item.done()

    async def retry(self) -> None:
        self._settled.append("retry")
        await self._item.retry()


class RecordingBus(MemoryBus):
    """The in-process bus, recording how each compaction request was settled."""

    def __init__(self) -> None:
        super().__init__()
        self.settled: list[str] = []

    async def compaction_requests(self, prefetch: int) -> AsyncIterator[WorkItem]:
        async for item in super().compaction_requests(prefetch):
            yield SettlingItem(item, self.settled)


def jobs_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("logstore_compactor_jobs_total", {"outcome": outcome}) or 0.0


def failures_counted() -> float:
    return sum(s.value for m in metrics.FAILURES.collect() for s in m.samples if s.name.endswith("_total"))


async def test_two_requests_for_one_job_compact_it_once(
    any_store: LogStore, job_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = b"".join(b"line %d of a build log\n" % i for i in range(2000))
    pieces = [source[i : i + 1000] for i in range(0, len(source), 1000)]
    final = len(pieces) - 1
    await any_store.put_chunks([Chunk.create(job_id, c, p, final=c == final) for c, p in enumerate(pieces)])
    await any_store.put_chunk(Chunk.create(job_id, final, pieces[final], final=True))  # the duplicate

    # the first attempt stops in its first segment write until the second is waiting beside it
    written: list[Segment] = []
    in_first_write, go_on = asyncio.Event(), asyncio.Event()
    put_segment = any_store.put_segment

    async def parked_put_segment(job: str, segment: Segment) -> None:
        if not in_first_write.is_set():
            in_first_write.set()
            await go_on.wait()
        written.append(segment)
        await put_segment(job, segment)

    monkeypatch.setattr(any_store, "put_segment", parked_put_segment)
    bus = RecordingBus()
    await bus.request_compaction(job_id)
    await bus.request_compaction(job_id)
    compacted, already, failures = jobs_counted("compacted"), jobs_counted("already"), failures_counted()
    worker = CompactionWorker(any_store, bus, CompactSettings(compactors=2, segment_bytes=4096, grace_s=0))
    running = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(GENEROUS_S):
            await in_first_write.wait()
        await eventually(lambda: worker.job.attempts_of(job_id) == 2)  # the second one is waiting
        go_on.set()
        await eventually(lambda: len(bus.settled) == 2)
    finally:
        worker.stop()
        await running

    assert bus.settled == ["done", "done"]  # both settled, neither handed back for a retry
    assert (jobs_counted("compacted") - compacted, jobs_counted("already") - already) == (1, 1)
    assert failures_counted() == failures
    assert (await any_store.job_status(job_id)).state is JobState.COMPACTED
    archive = await any_store.archive_info(job_id)
    assert archive is not None
    assert (archive.chunks, archive.segments, archive.raw_bytes) == (len(pieces), len(written), len(source))
    stored = [s async for s in any_store.read_segments(job_id)]
    assert stored == written  # one archive: no segment written by the second attempt
    assert b"".join(decompress(s, None) for s in stored) == source
    assert [c async for c in any_store.read_chunks(job_id)] == []

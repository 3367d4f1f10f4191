"""The sweep finds every unarchived job, however old and however many (paged, never capped), on
SQLite and Cassandra, and its gauges tell how long a due job has waited."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from prometheus_client import REGISTRY

from compactor.archive_job import ArchiveJob, Outcome
from compactor.sweep import REREQUEST_SWEEPS, Sweeper
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings
from logstore.store import LogStore
from logstore.store.sqlite import SQLiteStore
from tests.clocks import FakeClock

DAY = 86_400.0


async def finished(store: LogStore, job_id: str) -> float:
    """A finished job; the time of its last write."""
    await store.put_chunks([Chunk.create(job_id, 0, b"a\n"), Chunk.create(job_id, 1, b"b\n", final=True)])
    written = (await store.job_status(job_id)).updated_at
    assert written is not None
    return written


async def requests(store: LogStore, clock: FakeClock, page: int = 1000, **settings: Any) -> Counter[str]:
    """How often one sweep at `clock` requested each job."""
    bus = MemoryBus()
    await Sweeper(store, bus, CompactSettings(**settings), clock=clock, page=page).sweep()
    return Counter(bus.requests.get_nowait() for _ in range(bus.requests.qsize()))


def gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(f"logstore_compactor_{name}")


async def test_a_finished_job_thirty_days_old_is_requested(any_store: LogStore, job_id: str) -> None:
    written = await finished(any_store, f"{job_id}-old")
    await finished(any_store, f"{job_id}-archived")
    assert await ArchiveJob(any_store, CompactSettings(), "me").run(f"{job_id}-archived") is Outcome.COMPACTED
    requested = await requests(any_store, FakeClock(written + 30 * DAY))
    assert requested[f"{job_id}-old"] == 1
    assert f"{job_id}-archived" not in requested
    oldest = gauge("oldest_due_seconds")
    assert oldest is not None
    assert oldest >= 30 * DAY  # other tests' jobs may be older still


async def test_every_page_is_swept_and_each_job_requested_once(
    sqlite_store: SQLiteStore, job_id: str
) -> None:
    jobs = [f"{job_id}-{n:02}" for n in range(10)]
    for job in jobs:
        written = await finished(sqlite_store, job)
    await sqlite_store.put_chunk(Chunk.create(f"{job_id}-running", 0, b"x"))
    requested = await requests(sqlite_store, FakeClock(written + 1), page=3)
    assert requested == Counter(jobs)  # 4 pages of 3; the running job is not due
    assert (gauge("unarchived_jobs"), gauge("backlog")) == (11, 10)


async def test_a_running_job_is_due_only_after_abandon_running_after_s(
    sqlite_store: SQLiteStore, job_id: str
) -> None:
    await sqlite_store.put_chunk(Chunk.create(job_id, 0, b"x"))  # no final chunk
    written = (await sqlite_store.job_status(job_id)).updated_at
    assert written is not None
    five_days, seven_days = FakeClock(written + 5 * DAY), FakeClock(written + 7 * DAY)
    assert await requests(sqlite_store, five_days) == Counter()  # default: 6 days of silence
    assert gauge("oldest_due_seconds") == 0
    assert await requests(sqlite_store, seven_days) == Counter([job_id])
    assert gauge("oldest_due_seconds") == DAY  # due since day 6
    assert await requests(sqlite_store, five_days, abandon_running_after_s=DAY) == Counter([job_id])


async def test_a_job_that_keeps_failing_to_archive_keeps_ageing(
    sqlite_store: SQLiteStore, job_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing archives it (the compaction requests go nowhere): each sweep requests it again and
    reports it older, which is what LogstoreJobNotArchived alerts on; past a day it is named."""
    written = await finished(sqlite_store, job_id)
    for days in (1, 2, 3):
        assert await requests(sqlite_store, FakeClock(written + days * DAY)) == Counter([job_id])
        assert gauge("oldest_due_seconds") == days * DAY
    assert f"job {job_id} due for archiving 72.0 h ago, not archived" in caplog.text
    success = gauge("sweep_last_success_timestamp_seconds")
    assert success is not None
    assert success > 0


async def test_a_due_job_is_requested_again_only_after_several_sweeps(
    sqlite_store: SQLiteStore, job_id: str
) -> None:
    """A compactor that is behind is not handed the same job once more every sweep."""
    written = await finished(sqlite_store, job_id)
    clock = FakeClock(written + 60)
    settings = CompactSettings(sweep_interval_s=300)
    bus = MemoryBus()
    sweeper = Sweeper(sqlite_store, bus, settings, clock=clock)
    counts = []
    for _ in range(REREQUEST_SWEEPS + 1):
        counts.append(await sweeper.sweep())
        clock.now += settings.sweep_interval_s
    assert counts == [1] + [0] * (REREQUEST_SWEEPS - 1) + [1]  # again once the request may be lost
    assert gauge("backlog") == 1  # still due all along
    assert await ArchiveJob(sqlite_store, settings, "me").run(job_id) is Outcome.COMPACTED
    assert await sweeper.sweep() == 0
    assert sweeper._requested == {}  # an archived job is forgotten

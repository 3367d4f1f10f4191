"""DELETE /v1/jobs/{job_id}, `logstore purge` and the sweep, on SQLite and Cassandra."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from compactor.archive_job import ArchiveJob
from compactor.purge_command import parse_age
from compactor.retention import purge
from compactor.sweep import Sweeper
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings, Settings
from logstore.errors import ConfigError
from logstore.roles import build_app
from logstore.store import LogStore
from tests.clocks import a_fresh_millisecond

ADMIN = {"Authorization": "Bearer admin-secret"}


@pytest.fixture
async def admin_api(any_store: LogStore) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(Settings({"admin_token": "admin-secret"}), any_store, MemoryBus())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://logstore"
    ) as client:
        yield client


async def finished_job(store: LogStore, job_id: str, compact: bool) -> None:
    await store.put_chunks([Chunk.create(job_id, c, b"line %d\n" % c, final=c == 4) for c in range(5)])
    if compact:
        await ArchiveJob(store, CompactSettings(), "me").run(job_id)


async def test_delete_needs_the_admin_token_and_removes_everything(
    any_store: LogStore, admin_api: httpx.AsyncClient, job_id: str
) -> None:
    await finished_job(any_store, job_id, compact=True)
    url = f"/v1/jobs/{job_id}"
    assert (await admin_api.delete(url)).status_code == 401
    assert (await admin_api.delete(url, headers={"Authorization": "Bearer wrong"})).status_code == 403
    assert (await admin_api.get(f"{url}/log")).status_code == 200  # still there
    assert (await admin_api.delete(url, headers=ADMIN)).status_code == 204
    assert (await admin_api.get(url)).status_code == 404
    assert (await admin_api.get(f"{url}/log")).status_code == 404
    assert await any_store.segment_refs(job_id) == []
    assert (await admin_api.delete(url, headers=ADMIN)).status_code == 404
    assert (await admin_api.delete("/v1/jobs/bad%20id", headers=ADMIN)).status_code == 422


async def test_a_running_job_is_never_deleted(
    any_store: LogStore, admin_api: httpx.AsyncClient, job_id: str
) -> None:
    await any_store.put_chunk(Chunk.create(job_id, 0, b"still going\n"))
    response = await admin_api.delete(f"/v1/jobs/{job_id}", headers=ADMIN)
    assert response.status_code == 409
    assert (await admin_api.get(f"/v1/jobs/{job_id}/log")).content == b"still going\n"


async def test_purge_removes_old_jobs_but_never_running_ones(any_store: LogStore, job_id: str) -> None:
    started = a_fresh_millisecond()  # the purges below only look at jobs made by this test
    await finished_job(any_store, f"{job_id}-done", compact=False)
    await finished_job(any_store, f"{job_id}-archived", compact=True)
    await any_store.put_chunk(Chunk.create(f"{job_id}-running", 0, b"x"))
    later = time.time() + 1  # a clock a second after the last write: no wall-clock gap counted on
    report = await purge(any_store, older_than_s=0.5, dry_run=True, created_after=started, now=later)
    assert (report.deleted, report.kept_running) == (2, 1)  # a dry run counts, deletes nothing
    assert (await any_store.job_status(f"{job_id}-done")).final_clock == 4
    young = await purge(any_store, older_than_s=3600, created_after=started, now=later)
    assert (young.deleted, young.kept_running) == (0, 0)  # nothing of this test is an hour old
    assert (await any_store.job_status(f"{job_id}-archived")).state.archived
    report = await purge(any_store, older_than_s=0.5, created_after=started, now=later)
    assert (report.deleted, report.kept_running) == (2, 1)
    for gone in ("done", "archived"):
        assert await any_store.segment_refs(f"{job_id}-{gone}") == []
        assert [c async for c in any_store.read_chunks(f"{job_id}-{gone}")] == []
    assert [c async for c in any_store.read_chunks(f"{job_id}-running")] == [(0, b"x")]


def test_ages_parse_and_bad_ones_are_refused() -> None:
    assert parse_age("30d") == 30 * 86_400
    assert parse_age("90m") == 5400
    for bad in ("30", "d", "-1d", "1y"):
        with pytest.raises(ConfigError):
            parse_age(bad)


async def test_the_sweep_requests_finished_jobs_that_were_missed(any_store: LogStore, job_id: str) -> None:
    await finished_job(any_store, f"{job_id}-missed", compact=False)
    await finished_job(any_store, f"{job_id}-archived", compact=True)
    await any_store.put_chunk(Chunk.create(f"{job_id}-running", 0, b"x"))
    written = (await any_store.job_status(f"{job_id}-running")).updated_at
    assert written is not None

    def a_second_after_the_last_write() -> float:  # inside the window, the running job not idle
        return written + 1

    bus = MemoryBus()
    await Sweeper(any_store, bus, CompactSettings(), a_second_after_the_last_write).sweep()
    requested = set()
    while not bus.requests.empty():
        requested.add(bus.requests.get_nowait())
    mine = {job for job in requested if job.startswith(job_id)}
    assert mine == {f"{job_id}-missed"}

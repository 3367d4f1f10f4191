"""A delete interrupted before any one of its store statements, on SQLite and the real Cassandra:
until the job's protection is gone nothing of its log is readable, without credentials or
unmasked, on any read path; running the delete again finishes it. Also: a job id deleted and used
again with `?private=true` is private again (the ingester's memory of private jobs is not
trusted across a delete)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from compactor.archive_job import ArchiveJob, Outcome
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings, Settings
from logstore.errors import JobNotFound, StoreUnavailable
from logstore.roles import build_app
from logstore.store import JobProtection, LogStore
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.sqlite import SQLiteStore

SECRET = b"hunter2-topsecret"
PIECES = [b"step one\n", b"password " + SECRET[:7], SECRET[7:] + b"\nstep three\n"]
COMPACT = CompactSettings(grace_s=0, segment_bytes=1024)
WRITE = "write-token-1234"


class Interrupted(StoreUnavailable):
    pass


@contextlib.contextmanager
def interrupted_before(store: LogStore, step: int) -> Iterator[list[str]]:
    """Make the store's `step`-th statement (1-based, counted from now) raise before it runs;
    yields the names of the statements that ran."""
    ran: list[str] = []
    if isinstance(store, CassandraStore):
        original_run = store._run

        async def run(name: str, *params: Any) -> list[Any]:
            if len(ran) + 1 == step:
                ran.append(f"! {name}")
                raise Interrupted(f"interrupted before {name}")
            ran.append(name)
            return await original_run(name, *params)

        store._run = run  # type: ignore[method-assign]
        try:
            yield ran
        finally:
            del store._run
        return
    assert isinstance(store, SQLiteStore)
    original = store._run

    async def run_sqlite(pool: Any, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        return await original(pool, lambda conn: fn(_Counting(conn, ran, step)))  # type: ignore[arg-type]

    store._run = run_sqlite  # type: ignore[method-assign]
    try:
        yield ran
    finally:
        del store._run


class _Counting:
    """A sqlite3 connection whose `step`-th statement raises (inside the delete's transaction)."""

    def __init__(self, conn: sqlite3.Connection, ran: list[str], step: int) -> None:
        self._conn, self._ran, self._step = conn, ran, step

    def execute(self, sql: str, *params: Any) -> Any:
        if len(self._ran) + 1 == self._step:
            self._ran.append(f"! {sql}")
            raise sqlite3.OperationalError("interrupted")
        self._ran.append(sql)
        return self._conn.execute(sql, *params)

    def __enter__(self) -> _Counting:
        self._conn.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._conn.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


async def make_job(store: LogStore, job_id: str, compacted: bool) -> None:
    await store.set_private(job_id)
    await store.add_secrets(job_id, [SECRET])
    for clock, data in enumerate(PIECES):
        await store.put_chunk(Chunk.create(job_id, clock, data, final=clock == len(PIECES) - 1))
    if compacted:
        assert await ArchiveJob(store, COMPACT, "test").run(job_id) is Outcome.COMPACTED


async def readable_without_credentials(store: LogStore, job_id: str) -> list[str]:
    """Every anonymous read path that gives away anything of the log, and every store read
    that finds any of it while the job is no longer protected."""
    leaks: list[str] = []
    protection = await store.job_protection(job_id)
    if not protection.private or SECRET not in protection.secrets:
        if [c async for c in store.read_chunks(job_id)]:
            leaks.append("chunks")
        segments = [s async for s in store.read_segments(job_id)]
        if await store.segment_refs(job_id) or segments:
            leaks.append("segments")
        if await store.archive_info(job_id) is not None:
            leaks.append("archive")
        with contextlib.suppress(JobNotFound):
            await store.job_status(job_id)
            leaks.append("job row")
    app = build_app(Settings({"store": "sqlite:///unused", "write_token": WRITE}), store, MemoryBus())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for path in ("", "/log", "/times", "/search?q=step"):
            response = await client.get(f"/v1/jobs/{job_id}{path}")
            if response.status_code != 404:
                leaks.append(f"GET {path or '/'}: {response.status_code} {response.content[:80]!r}")
        listing = (await client.get("/v1/jobs", params={"prefix": job_id})).json()["jobs"]
        if listing:
            leaks.append(f"listed: {listing}")
    return leaks


@pytest.mark.parametrize("compacted", [False, True], ids=["chunks", "archive"])
async def test_an_interrupted_delete_leaves_nothing_readable_and_runs_again(
    any_store: LogStore, job_id: str, compacted: bool
) -> None:
    await make_job(any_store, job_id, compacted)
    steps = 0
    for step in range(1, 100):
        with interrupted_before(any_store, step) as ran:
            try:
                await any_store.delete_job(job_id)
            except StoreUnavailable:
                pass
            else:
                break  # every statement ran: nothing left to interrupt
        steps += 1
        assert await readable_without_credentials(any_store, job_id) == [], (step, ran)
        # a delete run again after the failure finishes; a new job under the id starts clean
        await any_store.delete_job(job_id)
        assert await readable_without_credentials(any_store, job_id) == []
        assert await any_store.job_protection(job_id) == JobProtection()
        await make_job(any_store, job_id, compacted)
    assert steps >= 7  # the delete was interrupted before each of its statements
    assert await readable_without_credentials(any_store, job_id) == []
    assert await any_store.job_protection(job_id) == JobProtection()


async def test_a_job_id_used_again_after_a_delete_is_private_again(any_store: LogStore, job_id: str) -> None:
    app = build_app(Settings({"store": "sqlite:///unused", "write_token": WRITE}), any_store, MemoryBus())
    writer = {"Authorization": f"Bearer {WRITE}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for _ in range(2):
            params = {"private": "true", "final": "true"}
            put = await client.put(
                f"/v1/jobs/{job_id}/chunks/0", content=b"x\n", params=params, headers=writer
            )
            assert put.status_code == 201
            assert (await client.get(f"/v1/jobs/{job_id}/log")).status_code == 404
            assert await any_store.delete_job(job_id)

"""`GET /v1/jobs` costs a bounded number of store reads, whatever `days`, filters and limit ask,
and pages on with `next_cursor`; on SQLite and the real Cassandra, and through a real
`logstore serve`. A job with secrets is listed without `bytes` (its stored size minus its masked
log's would give the secrets' lengths). A cursor never names a job the caller cannot see."""

from __future__ import annotations

import base64
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

import stream.jobs_list
from benchmarks.harness.processes import serving
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store import LogStore
from logstore.store.cassandra.backend import CassandraStore
from tests.stream.conftest import ADMIN, SIGNING_KEY, WRITE

AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
AS_WRITER = {"Authorization": f"Bearer {WRITE}"}


class CountingStore:
    """A LogStore that records every method called on it, with its arguments."""

    def __init__(self, store: LogStore) -> None:
        self._store = store
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def called(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args))
            return attr(*args, **kwargs)

        return called

    def counts(self) -> Counter[str]:
        return Counter(name for name, _ in self.calls)


@pytest.fixture
async def counted(any_store: LogStore) -> AsyncIterator[tuple[CountingStore, httpx.AsyncClient]]:
    counting = CountingStore(any_store)
    settings = Settings(
        {
            "store": "sqlite:///unused",
            "write_token": WRITE,
            "admin_token": ADMIN,
            "url_signing_key": SIGNING_KEY,
        }
    )
    app = build_app(settings, cast(LogStore, counting), MemoryBus())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield counting, client


async def make_jobs(store: LogStore, prefix: str) -> dict[str, set[str]]:
    """12 jobs: public finished (some with secrets), public running, private finished."""
    kinds: dict[str, set[str]] = {"finished": set(), "running": set(), "private": set(), "secret": set()}
    for n in range(12):
        job_id = f"{prefix}-{n:02d}"
        kind = "private" if n % 4 == 1 else "running" if n % 4 == 2 else "finished"
        if kind == "private":
            await store.set_private(job_id)
        if n % 4 == 3:
            await store.add_secrets(job_id, [b"hunter2"])
            kinds["secret"].add(job_id)
        await store.put_chunk(Chunk.create(job_id, 0, b"log of %d, hunter2\n" % n, final=kind != "running"))
        kinds[kind].add(job_id)
    return kinds


def decoded(cursor: str) -> str:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


async def test_each_request_reads_the_store_a_bounded_number_of_times(
    counted: tuple[CountingStore, httpx.AsyncClient], any_store: LogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream.jobs_list, "EXAMINE", 4)
    monkeypatch.setattr(stream.jobs_list, "BATCH", 2)
    counting, client = counted
    prefix = f"bound-{uuid.uuid4().hex[:12]}"
    kinds = await make_jobs(any_store, prefix)
    for headers, expected in (({}, kinds["finished"]), (AS_ADMIN, kinds["finished"] | kinds["private"])):
        seen: list[str] = []
        params: dict[str, Any] = {"prefix": prefix, "state": "finished", "limit": 3, "days": 366}
        for _ in range(20):
            counting.calls.clear()
            response = await client.get("/v1/jobs", params=params, headers=headers)
            assert response.status_code == 200, response.text
            counts = counting.counts()
            assert counts["list_jobs"] == 1
            assert counts["job_protection"] <= 4, counts
            assert counts["job_status"] <= 4, counts
            assert counts["get_job"] <= 3
            assert set(counts) <= {"list_jobs", "job_protection", "job_status", "get_job"}
            ((_, (after, before, _limit)),) = [call for call in counting.calls if call[0] == "list_jobs"]
            assert before - after <= stream.jobs_list.PAGE_DAYS * 86_400 + 2
            page = response.json()
            seen += [job["job_id"] for job in page["jobs"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            if not headers:  # never a private job's id in an anonymous caller's cursor
                assert not any(job_id in decoded(cursor) for job_id in kinds["private"])
            params = {"prefix": prefix, "state": "finished", "limit": 3, "cursor": cursor}
        assert sorted(seen) == sorted(expected)  # each once, none missed
        listed = {
            job["job_id"]: job
            for job in (
                await client.get("/v1/jobs", params={"prefix": prefix, "limit": 500}, headers=headers)
            ).json()["jobs"]
        }
        for job_id, job in listed.items():
            assert (job["bytes"] is None) == (job_id in kinds["secret"]), job


async def test_a_year_is_listed_a_week_per_request(
    counted: tuple[CountingStore, httpx.AsyncClient], any_store: LogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting, client = counted
    day_reads: list[str] = []
    if isinstance(any_store, CassandraStore):
        original = any_store._run

        async def run(name: str, *params: Any) -> list[Any]:
            if name == "SELECT_JOBS_OF_DAY":
                day_reads.append(params[0])
            return await original(name, *params)

        monkeypatch.setattr(any_store, "_run", run)
    params: dict[str, Any] = {
        "prefix": f"none-{uuid.uuid4().hex}",
        "state": "abandoned",
        "limit": 500,
        "days": 366,
    }
    # a shared keyspace holds other tests' jobs: a day of more than LISTED of them takes a page more
    now = time.time()
    listed = len(await any_store.list_jobs(now - 367 * 86_400, now + 86_400, 10_000_000))
    extra = 2 * (listed // stream.jobs_list.LISTED) + 1  # a day over LISTED: at most 2 pages per LISTED more
    pages = 0
    while True:
        counting.calls.clear()
        day_reads.clear()
        response = await client.get("/v1/jobs", params=params)
        assert response.status_code == 200
        pages += 1
        assert counting.counts()["list_jobs"] == 1
        assert len(set(day_reads)) <= stream.jobs_list.PAGE_DAYS + 2
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        params = {"prefix": params["prefix"], "state": "abandoned", "limit": 500, "cursor": cursor}
    assert 366 / stream.jobs_list.PAGE_DAYS <= pages <= 366 / stream.jobs_list.PAGE_DAYS + 2 + extra


BAD_CURSORS = {
    "empty": "",
    "not base64": "%%%",
    "not json": "bm90IGpzb24",
    "after past before": base64.urlsafe_b64encode(b'[1, "x", 2]').decode(),
    "infinite": base64.urlsafe_b64encode(b"[1e999, null, 0]").decode(),
    "too long": "eyJ9" * 300,
    "huge integer": base64.urlsafe_b64encode(b"[" + b"9" * 500 + b", null, 0]").decode(),
    "deep": base64.urlsafe_b64encode(b"[" * 700).decode(),
}


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
async def test_a_cursor_this_server_did_not_give_is_422(
    counted: tuple[CountingStore, httpx.AsyncClient], cursor: str
) -> None:
    _, client = counted
    assert (await client.get("/v1/jobs", params={"cursor": cursor})).status_code == 422


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("jobs-list")
    flags = ["--write-token", WRITE, "--admin-token", ADMIN]
    with serving(f"sqlite:///{workdir}/db.sqlite", workdir, *flags) as base:
        yield base


async def test_paging_a_year_of_jobs_through_a_real_server(server: str) -> None:
    prefix = f"real-{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        for n in range(7):
            job_id = f"{prefix}-{n}"
            if n == 3:
                await client.put(
                    f"/v1/jobs/{job_id}/secrets", json={"secrets": ["hunter2"]}, headers=AS_WRITER
                )
            params = {"final": "true", "private": str(n == 5).lower()}
            put = await client.put(
                f"/v1/jobs/{job_id}/chunks/0", content=b"hunter2\n", params=params, headers=AS_WRITER
            )
            assert put.status_code == 201
        seen: list[dict[str, Any]] = []
        params2: dict[str, Any] = {
            "prefix": prefix,
            "limit": 2,
            "days": 366,
            "state": "finished,compacted",
        }
        while True:
            page = (await client.get("/v1/jobs", params=params2)).json()
            seen += page["jobs"]
            if page["next_cursor"] is None:
                break
            params2 = {
                "prefix": prefix,
                "limit": 2,
                "state": "finished,compacted",
                "cursor": page["next_cursor"],
            }
    assert [job["job_id"] for job in seen] == [f"{prefix}-{n}" for n in (6, 4, 3, 2, 1, 0)]  # newest first
    assert [job["bytes"] for job in seen] == [8, 8, None, 8, 8, 8]

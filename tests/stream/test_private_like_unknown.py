"""A private job read without credentials cannot be told from an unknown job, on every path.

Through a real `logstore serve`: status, log (whole, `Range`, `?offset=`), times, search, the
viewer page, wrong tokens, bad, expired and other jobs' signed URLs, minting: the same status,
body (but the job id) and headers (but `Date`); the tail of both stays open and sends nothing,
even as the private job's chunks arrive, and no close code is ever 4404. In process, on SQLite
and the real Cassandra: both take the same store reads, on the HTTP paths and on the tail."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

import stream.silent_tail
import stream.tail
from benchmarks.harness.processes import serving
from logstore import url_signing
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store import LogStore
from stream.fanout import LiveHub
from stream.silent_tail import SilentTail
from stream.tail import Tail
from tests.stream.conftest import ADMIN, READ, SIGNING_KEY, WRITE

KEY = SIGNING_KEY.encode()
AS_WRITER = {"Authorization": f"Bearer {WRITE}"}
SECRET = "s3cr3t-value"
PIECES = [b"step 1\n", f"password {SECRET}\n".encode()]
QUIET_S = 2.5  # an unknown job's tail has read the store twice by then (at 0 and 1 s)


def same_length_ids() -> tuple[str, str]:
    return f"priv-{uuid.uuid4().hex}", f"unkn-{uuid.uuid4().hex}"


def requests_of(job_id: str) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path and query, headers) of every read a caller without credentials may try."""
    future, past = url_signing.expiry(600), url_signing.expiry(-600)
    expired = url_signing.signed_query(KEY, job_id, past)
    other = url_signing.signed_query(KEY, f"{job_id}x", future)
    base = f"/v1/jobs/{job_id}"
    return [
        ("GET", base, {}),
        ("GET", f"{base}/log", {}),
        ("GET", f"{base}/log", {"Range": "bytes=0-3"}),
        ("GET", f"{base}/log?offset=0", {}),
        ("GET", f"{base}/log", {"Accept-Encoding": "zstd"}),
        ("GET", f"{base}/times", {}),
        ("GET", f"{base}/search?q=step", {}),
        ("GET", f"{base}/search?q=s3cr3t&regex=true", {}),
        ("GET", f"/jobs/{job_id}", {}),
        ("GET", f"{base}/log", AS_WRITER),  # a token that is not a read token
        ("GET", f"{base}/log", {"Authorization": "Bearer wrong"}),
        ("GET", f"{base}/log?{expired}", {}),
        ("GET", f"{base}/log?{other}", {}),
        ("GET", f"{base}/log?expires={future}&signature={'0' * 64}", {}),
        ("GET", f"/jobs/{job_id}?{other}", {}),
        ("GET", f"{base}/log?access_token=wrong", {}),
        ("POST", f"{base}/signed-url", {}),
        ("POST", f"{base}/signed-url", AS_WRITER),
    ]


def answer(response: httpx.Response, job_id: str) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = sorted((k, v.replace(job_id, "ID")) for k, v in response.headers.items() if k != "date")
    return response.status_code, response.content.replace(job_id.encode(), b"ID"), headers


async def make_private_job(client: httpx.AsyncClient, job_id: str) -> None:
    settings = await client.put(f"/v1/jobs/{job_id}/settings", json={"private": True}, headers=AS_WRITER)
    assert settings.status_code == 200
    secrets = await client.put(f"/v1/jobs/{job_id}/secrets", json={"secrets": [SECRET]}, headers=AS_WRITER)
    assert secrets.status_code == 200
    for clock, data in enumerate(PIECES):  # running: no final chunk
        put = await client.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=data, headers=AS_WRITER)
        assert put.status_code == 201


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Two real servers on one SQLite store: without a read token (private jobs decided by job),
    and with one (every caller without it refused)."""
    workdir: Path = tmp_path_factory.mktemp("private-like-unknown")
    store = f"sqlite:///{workdir}/db.sqlite"
    flags = ["--write-token", WRITE, "--admin-token", ADMIN, "--url-signing-key", SIGNING_KEY]
    with (
        serving(store, workdir, *flags) as open_base,
        serving(store, workdir, *flags, "--read-token", READ) as closed,
    ):
        yield open_base, closed


async def test_every_http_answer_of_a_private_job_is_an_unknown_jobs(servers: tuple[str, str]) -> None:
    private, unknown = same_length_ids()
    for base in servers:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            if base == servers[0]:
                await make_private_job(client, private)
                assert (await client.get(f"/v1/jobs/{private}/log", headers=AS_ADMIN)).status_code == 200
            for (method, path, headers), (_, unknown_path, _) in zip(
                requests_of(private), requests_of(unknown), strict=True
            ):
                hidden = await client.request(method, path, headers=headers)
                missing = await client.request(method, unknown_path, headers=headers)
                assert answer(hidden, private) == answer(missing, unknown), (base, method, path, headers)
                assert SECRET.encode() not in hidden.content


AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}


def tail_url(base: str, job_id: str, query: str = "from_clock=0") -> str:
    return f"{base.replace('http://', 'ws://', 1)}/v1/jobs/{job_id}/tail?{query}"


async def quiet_for(url: str, seconds: float, meanwhile: Callable[[], Any] | None = None) -> str:
    """'open' if the socket sent nothing and stayed open for `seconds`, else what happened."""
    async with connect(url) as socket:
        if meanwhile is not None:
            await meanwhile()
        try:
            message = await asyncio.wait_for(socket.recv(), seconds)
        except TimeoutError:
            return "open"
        except ConnectionClosed:
            return f"closed {socket.close_code}"
        return f"sent {message!r}"


async def closed_with(url: str) -> int | None:
    async with connect(url) as socket:
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            await asyncio.wait_for(socket.recv(), 30)
        return socket.close_code


async def test_a_private_jobs_tail_is_an_unknown_jobs_open_and_silent(servers: tuple[str, str]) -> None:
    base, closed = servers
    private, unknown = same_length_ids()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await make_private_job(client, private)

        async def more_chunks() -> None:  # live chunks of the private job, while its tail waits
            put = await client.put(f"/v1/jobs/{private}/chunks/2", content=b"live line\n", headers=AS_WRITER)
            assert put.status_code == 201

        hidden, missing = await asyncio.gather(
            quiet_for(tail_url(base, private), QUIET_S, more_chunks),
            quiet_for(tail_url(base, unknown), QUIET_S),
        )
        assert hidden == missing == "open"
        resumed = await asyncio.gather(
            quiet_for(tail_url(base, private, "from_clock=1"), 1.0),
            quiet_for(tail_url(base, unknown, "from_clock=1"), 1.0),
        )
        assert list(resumed) == ["open", "open"]
        wrong = "from_clock=0&access_token=wrong"  # not a token here: the job decides, as without one
        wrong_token = [await quiet_for(tail_url(base, job, wrong), 1.0) for job in (private, unknown)]
        assert wrong_token == ["open", "open"]
        for query in (
            url_signing.signed_query(KEY, "other-job", url_signing.expiry(600)) + "&from_clock=0",
            "from_clock=-1",
        ):
            codes = [await closed_with(tail_url(base, job, query)) for job in (private, unknown)]
            assert codes[0] == codes[1] != 4404, query
        for job in (private, unknown):  # with a read token configured: 4401 for both
            assert await closed_with(tail_url(closed, job)) == 4401
        metrics = (await client.get("/metrics")).text
        assert 'code="4404"' not in metrics


class CountingStore:
    """A LogStore that records the name of every method called on it."""

    def __init__(self, store: LogStore) -> None:
        self._store = store
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def called(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attr(*args, **kwargs)

        return called


async def put_private(store: LogStore, job_id: str) -> None:
    await store.set_private(job_id)
    await store.add_secrets(job_id, [SECRET.encode()])
    for clock, data in enumerate(PIECES):
        await store.put_chunk(Chunk.create(job_id, clock, data))


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


async def test_a_private_job_takes_the_store_reads_of_an_unknown_one(
    any_store: LogStore, counted: tuple[CountingStore, httpx.AsyncClient]
) -> None:
    counting, client = counted
    private, unknown = same_length_ids()
    await put_private(any_store, private)
    for (method, path, headers), (_, unknown_path, _) in zip(
        requests_of(private), requests_of(unknown), strict=True
    ):
        reads: list[Counter[str]] = []
        for target in (path, unknown_path):
            counting.calls.clear()
            await client.request(method, target, headers=headers)
            reads.append(Counter(counting.calls))
        assert reads[0] == reads[1], (method, path, headers)


async def test_a_private_jobs_silent_tail_reads_the_store_as_an_unknown_jobs_tail(
    any_store: LogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (stream.tail, stream.silent_tail):
        monkeypatch.setattr(module, "IDLE_CHECK_S", (0.05, 0.2))
    private, unknown = same_length_ids()
    await put_private(any_store, private)
    reads: list[Counter[str]] = []
    for make in (
        lambda store, hub: SilentTail(store, hub, private),
        lambda store, hub: Tail(store, hub, unknown, 0),
    ):
        counting = CountingStore(any_store)
        tail = make(cast(LogStore, counting), LiveHub(MemoryBus()))
        events: list[object] = []

        async def run(tail: Any = tail, events: list[object] = events) -> None:
            async for event in tail.events():
                events.append(event)

        task = asyncio.create_task(run())
        await asyncio.sleep(0.6)  # reads at 0, 0.05, 0.15, 0.35
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert events == []
        reads.append(Counter(counting.calls))
    assert set(reads[0]) == set(reads[1]) == {"job_status"}
    assert abs(reads[0]["job_status"] - reads[1]["job_status"]) <= 1, reads

"""The `PUT` fast path (ingest/put_fast_path.py) answers exactly what the framework's route
answers: the same requests go to an app with it and to one without it (each on its own store),
and every status, body and header must be equal, stored logs included. It must also really serve
the ordinary requests (else this would compare the route with itself)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.middleware import Middleware

from ingest import put_fast_path
from logstore.bus.memory import MemoryBus
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store.sqlite import SQLiteStore
from logstore.web.app import create_app

SETTINGS = {"write_token": "w-secret", "read_token": "r-secret", "max_chunk_bytes": "64"}
GOOD = {"Authorization": "Bearer w-secret"}
READ = {"Authorization": "Bearer r-secret"}


class Apps:
    def __init__(self, fast: httpx.AsyncClient, plain: httpx.AsyncClient) -> None:
        self.fast = fast
        self.plain = plain

    async def both(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        fast = await self.fast.request(method, url, **kwargs)  # type: ignore[arg-type]
        plain = await self.plain.request(method, url, **kwargs)  # type: ignore[arg-type]
        assert fast.status_code == plain.status_code, url
        assert fast.content == plain.content, url
        assert _headers(fast) == _headers(plain), url
        return fast


def _headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name not in ("date",)}


def _untimed(meta: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in meta.items() if not key.endswith("_at")}


def _is_fast_path(middleware: Middleware) -> bool:
    return middleware.cls is put_fast_path.PutChunkFastPath  # type: ignore[comparison-overlap]


def _without_fast_path(app_settings: Settings, store: SQLiteStore) -> object:
    """build_app's app with the fast path taken out of its inner middleware."""
    app = build_app(app_settings, store, MemoryBus())
    app.user_middleware = [m for m in app.user_middleware if not _is_fast_path(m)]
    assert len(app.user_middleware) == len(build_app(app_settings, store, MemoryBus()).user_middleware) - 1
    return app


@pytest.fixture
async def apps(tmp_path: Path) -> AsyncIterator[Apps]:
    app_settings = Settings(SETTINGS)
    fast_store = SQLiteStore(tmp_path / "fast.sqlite")
    plain_store = SQLiteStore(tmp_path / "plain.sqlite")
    fast_app = build_app(app_settings, fast_store, MemoryBus())
    plain_app = _without_fast_path(app_settings, plain_store)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=fast_app), base_url="http://x") as fast,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=plain_app), base_url="http://x") as plain,  # type: ignore[arg-type]
    ):
        yield Apps(fast, plain)
    await fast_store.close()
    await plain_store.close()


CASES: list[tuple[str, bytes, dict[str, str]]] = [
    ("/v1/jobs/j1/chunks/0", b"hello\n", GOOD),  # created
    ("/v1/jobs/j1/chunks/0", b"hello\n", GOOD),  # duplicate
    ("/v1/jobs/j1/chunks/0", b"other\n", GOOD),  # conflict
    ("/v1/jobs/j1/chunks/1?final=true", b"end\n", GOOD),
    ("/v1/jobs/j1/chunks/5", b"after the end\n", GOOD),  # past the final clock
    ("/v1/jobs/j2/chunks/0?private=yes&final=0", b"secret\n", GOOD),
    ("/v1/jobs/j3/chunks/0?final=TRUE", b"x", GOOD),
    ("/v1/jobs/j3/chunks/0?final=maybe", b"x", GOOD),  # not a boolean: the route's 422
    ("/v1/jobs/j3/chunks/0?final=true&final=false", b"x", GOOD),  # repeated
    ("/v1/jobs/j4/chunks/0?colour=red", b"x", GOOD),  # unknown parameter
    ("/v1/jobs/j5/chunks/0", b"x" * 65, GOOD),  # over max_chunk_bytes
    ("/v1/jobs/bad id/chunks/0", b"x", GOOD),
    ("/v1/jobs/bad%2Fid/chunks/0", b"x", GOOD),
    ("/v1/jobs/j6/chunks/-1", b"x", GOOD),
    ("/v1/jobs/j6/chunks/x", b"x" * 65, GOOD),  # 422 wins over 413
    ("/v1/jobs/j6/chunks/0/", b"x", GOOD),
    ("/v1/jobs//chunks/0", b"x", GOOD),
    ("/v1/jobs/j7/chunks/0", b"x", {}),  # no token
    ("/v1/jobs/j7/chunks/0", b"x", {"Authorization": "Bearer nope"}),
    ("/v1/jobs/j7/chunks/0", b"x", {"Authorization": "Basic w-secret"}),
    ("/v1/jobs/j7/chunks/0", b"x", READ),
    ("/v1/jobs/j8/chunks/0", b"x", {**GOOD, "Content-Encoding": "gzip"}),
    ("/v1/jobs/j9/chunks/0", b"", GOOD),  # empty chunk
]


async def test_every_case_answers_like_the_route_and_stores_the_same(apps: Apps) -> None:
    for url, body, headers in CASES:
        await apps.both("PUT", url, content=body, headers=headers)
    for job in ("j1", "j2", "j3", "j4", "j5", "j6", "j7", "j8", "j9"):
        await apps.both("GET", f"/v1/jobs/{job}/log", headers=READ)
        fast = await apps.fast.get(f"/v1/jobs/{job}", headers=READ)
        plain = await apps.plain.get(f"/v1/jobs/{job}", headers=READ)
        assert fast.status_code == plain.status_code
        assert _untimed(fast.json()) == _untimed(plain.json())


def test_the_ordinary_requests_take_the_fast_path() -> None:
    def scope(path: str, method: str = "PUT") -> dict[str, object]:
        return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": ""}

    assert put_fast_path._target(scope("/v1/jobs/j1/chunks/0")) == ("j1", "0")
    assert put_fast_path._flags(b"") == {}
    assert put_fast_path._flags(b"final=true&private=no") == {"final": True, "private": False}
    assert put_fast_path._target(scope("/v1/jobs/j1/chunks/0", "POST")) is None
    assert put_fast_path._target(scope("/v1/jobs/j1/chunks/0/")) is None
    assert put_fast_path._flags(b"final=maybe") is None
    assert put_fast_path._flags(b"other=1") is None


async def test_the_fast_path_serves_them_without_the_framework(tmp_path: Path) -> None:
    """An app whose router has no route at all still takes a chunk: only the fast path can."""
    store = SQLiteStore(tmp_path / "db.sqlite")
    service_app = build_app(Settings(SETTINGS), store, MemoryBus())
    (fast,) = [m for m in service_app.user_middleware if _is_fast_path(m)]
    bare = create_app([], ready=store.ping, inner_middleware=[fast])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://x") as client:
        taken = await client.put("/v1/jobs/j1/chunks/0", content=b"hi\n", headers=GOOD)
        odd = await client.put("/v1/jobs/j1/chunks/1?colour=red", content=b"hi\n", headers=GOOD)
    assert taken.status_code == 201
    assert taken.json() == {"job_id": "j1", "clock": 0, "result": "created"}
    assert odd.status_code == 404  # not ordinary: left to the (empty) router
    assert [clock async for clock, _ in store.read_chunks("j1", 0)] == [0]
    await store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.lists(
        st.tuples(
            st.sampled_from(["final", "private", "Final", "x", ""]),
            st.sampled_from(["true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "", "2", "True"]),
        ),
        max_size=3,
    ),
    clock=st.sampled_from(["0", "1", "7", "-1", "01", "x"]),
    body=st.binary(max_size=80),
)
async def test_generated_queries_answer_like_the_route(
    apps: Apps, query: list[tuple[str, str]], clock: str, body: bytes
) -> None:
    url = httpx.URL(f"/v1/jobs/gen/chunks/{clock}", params=query)
    await apps.both("PUT", str(url), content=body, headers=GOOD)
    await apps.both("GET", "/v1/jobs/gen/log", headers=READ)

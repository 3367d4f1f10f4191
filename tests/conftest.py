from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import settings

from logstore.bus.memory import MemoryBus
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store import LogStore
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.cassandra.schema import apply_schema
from logstore.store.cassandra.url import parse_cassandra_url
from logstore.store.sqlite import SQLiteStore
from tests.servers import SERVER_MARKS, require_cassandra

# Property tests judge results, never speed: no per-example deadline (hypothesis' default of 200 ms
# is exceeded now and then on a loaded 2-core machine, failing a correct example as "flaky").
settings.register_profile("logstore", deadline=None)
settings.load_profile("logstore")


# fixtures that are a server: a test using one is marked as needing it
FIXTURE_MARKS = {
    "cassandra_store": "cassandra",
    "cassandra_python_driver_store": "cassandra",
    "browser": "browser",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs any server is also marked `server`: `make check` runs `-m 'not server'`."""
    for item in items:
        for fixture in set(getattr(item, "fixturenames", ())) & FIXTURE_MARKS.keys():
            item.add_marker(getattr(pytest.mark, FIXTURE_MARKS[fixture]))
        if any(item.get_closest_marker(name) for name in SERVER_MARKS):
            item.add_marker(pytest.mark.server)


@pytest.fixture
def job_id() -> str:
    """A fresh job id, so tests never see each other's data in a shared store."""
    return f"test-{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="session")
async def cassandra_store() -> AsyncIterator[CassandraStore]:
    url = require_cassandra()
    await apply_schema(parse_cassandra_url(url))
    store = await CassandraStore.connect(url)
    yield store
    await store.close()


@pytest.fixture(scope="session")
async def cassandra_python_driver_store(cassandra_store: CassandraStore) -> AsyncIterator[CassandraStore]:
    """The same keyspace, its write path through the Python driver (`?driver=cassandra-driver`)
    instead of acsylla, the default."""
    url = require_cassandra()
    store = await CassandraStore.connect(f"{url}{'&' if '?' in url else '?'}driver=cassandra-driver")
    yield store
    await store.close()


@pytest.fixture
async def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path_factory.mktemp("sqlite") / "logstore.db")
    yield store
    await store.close()


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)])
def any_store(request: pytest.FixtureRequest) -> LogStore:
    """Each test using this runs once on SQLite and once on the real Cassandra."""
    store: LogStore = request.getfixturevalue(f"{request.param}_store")
    return store


@pytest.fixture
async def api(any_store: LogStore) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the all-in-one app with small limits: 1 KiB chunks, 4 KiB logs."""
    settings = Settings({"max_chunk_bytes": 1024, "max_log_bytes": 4096, "store": "sqlite:///unused"})
    app = build_app(settings, any_store, MemoryBus())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://logstore") as client:
        yield client


@pytest.fixture
async def app_client(any_store: LogStore) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the all-in-one app with default settings, on SQLite and on Cassandra."""
    app = build_app(Settings(), any_store, MemoryBus())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://logstore"
    ) as client:
        yield client

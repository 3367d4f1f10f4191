from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from logstore.store.cassandra.backend import CassandraStore
from logstore.store.cassandra.schema import apply_schema
from logstore.store.cassandra.url import parse_cassandra_url
from logstore.store.sqlite import SQLiteStore
from tests.servers import require_cassandra


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


@pytest.fixture
async def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path_factory.mktemp("sqlite") / "logstore.db")
    yield store
    await store.close()

from __future__ import annotations

import pytest

from logstore.store.cassandra.backend import CassandraStore
from tests.logstore.store.conformance import StoreConformance


@pytest.mark.cassandra
class TestCassandraStore(StoreConformance):
    @pytest.fixture
    def store(self, cassandra_store: CassandraStore) -> CassandraStore:
        return cassandra_store


@pytest.mark.cassandra
class TestCassandraStoreWritingThroughThePythonDriver(StoreConformance):
    @pytest.fixture
    def store(self, cassandra_python_driver_store: CassandraStore) -> CassandraStore:
        return cassandra_python_driver_store

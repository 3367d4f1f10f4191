from __future__ import annotations

import pytest

from logstore.store.sqlite import SQLiteStore
from tests.logstore.store.conformance import StoreConformance


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    def store(self, sqlite_store: SQLiteStore) -> SQLiteStore:
        return sqlite_store

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from logstore.chunk import Chunk
from logstore.store.archive import ArchiveInfo
from logstore.store.sqlite import _SELECT_UNARCHIVED, SQLiteStore, index_unarchived
from tests.logstore.store.conformance import StoreConformance, mark_archived


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    def store(self, sqlite_store: SQLiteStore) -> SQLiteStore:
        return sqlite_store


async def test_a_database_from_before_chunk_times_is_migrated_and_reads(tmp_path: Path) -> None:
    """A database made before chunk times were kept: opening it adds the columns; its old chunks
    and segments read as before, their times unknown; new chunks get a time."""
    path = tmp_path / "old.db"
    await SQLiteStore(path).close()  # today's schema, then taken back to the old one
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE chunks DROP COLUMN stored_at")
        conn.execute("ALTER TABLE segments DROP COLUMN times")
        conn.execute("INSERT INTO chunks VALUES ('old', 0, 4, x'00', CAST('old\n' AS BLOB))")
        conn.execute("INSERT INTO segments VALUES ('old-archive', 0, 0, x'00000002', 0, CAST('zz' AS BLOB))")
    store = SQLiteStore(path)
    try:
        assert [data async for _, data in store.read_chunks("old")] == [b"old\n"]
        assert await store.chunk_times("old") == [(0, None)]
        (ref,) = await store.segment_refs("old-archive")
        assert (ref.sizes, ref.times) == ((2,), None)
        await store.put_chunks([Chunk.create("new", 0, b"x")])
        ((_, stored_at),) = await store.chunk_times("new")
        assert stored_at is not None
    finally:
        await store.close()
    await SQLiteStore(path).close()  # opening again changes nothing (idempotent)


async def test_a_reopened_job_is_listed_again_and_the_list_uses_its_index(
    sqlite_store: SQLiteStore, job_id: str, tmp_path: Path
) -> None:
    await sqlite_store.put_chunk(Chunk.create(job_id, 0, b"x", final=True))
    await mark_archived(sqlite_store, job_id, ArchiveInfo("ab" * 32, 1, 2, 1, 1, 0))
    assert await sqlite_store.unarchived_jobs(None, 10) == []

    def reopen(conn: sqlite3.Connection) -> None:
        with conn:
            index_unarchived(conn, job_id)

    await sqlite_store._run(sqlite_store._writer, reopen)
    assert await sqlite_store.unarchived_jobs(None, 10) == [job_id]
    with sqlite3.connect(sqlite_store._path) as conn:
        plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {_SELECT_UNARCHIVED}", ("", 10)))
    assert "jobs_unarchived" in plan, plan  # never a scan of every job ever archived

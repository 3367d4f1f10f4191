"""SQLite backend: the embedded default for one machine.

WAL mode with synchronous=FULL, so a batch is on disk when `put_chunks` returns. One writer thread
owns the write connection (SQLite serialises writers anyway); reads run on a small pool of threads
with their own connections, which WAL lets proceed while a write is in progress. The event loop
never blocks on SQLite.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from logstore.chunk import Chunk
from logstore.errors import ChunkConflict, ConfigError, JobNotFound, StoreUnavailable
from logstore.store.interface import JobInfo, JobState, JobStatus, LogStore, PutOutcome, PutResult
from logstore.store.rules import derived_state, final_conflict, summarise_clocks

T = TypeVar("T")

READ_PAGE_ROWS = 64  # chunks fetched per read step: bounds a reader's memory to 64 chunks
BUSY_TIMEOUT_S = 5.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    job_id TEXT NOT NULL,
    clock  INTEGER NOT NULL,      -- the sender's sequence number, 0..2^63-1
    size   INTEGER NOT NULL,      -- bytes
    digest BLOB NOT NULL,         -- blake2b-128 of data, to tell duplicates from conflicts
    data   BLOB NOT NULL,
    PRIMARY KEY (job_id, clock)
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id      TEXT PRIMARY KEY,
    state       TEXT,             -- NULL while derived from final_clock (running/finished)
    final_clock INTEGER,
    max_clock   INTEGER NOT NULL, -- highest clock stored
    bytes       INTEGER NOT NULL, -- sum of chunk sizes
    chunks      INTEGER NOT NULL,
    created_at  REAL NOT NULL,    -- unix seconds
    updated_at  REAL NOT NULL
);
"""

_SELECT_DIGEST = "SELECT digest FROM chunks WHERE job_id = ? AND clock = ?"
_SELECT_JOB = "SELECT final_clock, max_clock FROM jobs WHERE job_id = ?"
_INSERT_CHUNK = "INSERT INTO chunks (job_id, clock, size, digest, data) VALUES (?, ?, ?, ?, ?)"
_UPSERT_JOB = """
INSERT INTO jobs (job_id, final_clock, max_clock, bytes, chunks, created_at, updated_at)
VALUES (?, ?, ?, ?, 1, ?, ?)
ON CONFLICT (job_id) DO UPDATE SET
    final_clock = coalesce(excluded.final_clock, jobs.final_clock),
    max_clock = max(jobs.max_clock, excluded.max_clock),
    bytes = jobs.bytes + excluded.bytes,
    chunks = jobs.chunks + 1,
    updated_at = excluded.updated_at
"""
_SET_FINAL = "UPDATE jobs SET final_clock = ?, updated_at = ? WHERE job_id = ?"
_READ_PAGE = (
    "SELECT clock, data FROM chunks WHERE job_id = ? AND clock >= ? AND clock <= ? ORDER BY clock LIMIT ?"
)
_SELECT_SIZES = "SELECT clock, size FROM chunks WHERE job_id = ? ORDER BY clock"
_SELECT_JOB_ROW = "SELECT state, final_clock, created_at, updated_at FROM jobs WHERE job_id = ?"


def path_from_url(url: str) -> Path:
    """`sqlite:///relative/path.db` or `sqlite:////absolute/path.db` (SQLAlchemy's convention)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ConfigError(f"store URL {url!r} is not sqlite:///PATH")
    return Path(url[len(prefix) :])


class SQLiteStore(LogStore):
    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-write")
        self._readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sqlite-read")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        return cls(path_from_url(url))

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    async def _run(self, pool: ThreadPoolExecutor, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            try:
                return fn(self._conn())
            except sqlite3.OperationalError as exc:  # locked, disk I/O, ...
                raise StoreUnavailable(f"sqlite: {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(pool, call)

    async def put_chunks(self, chunks: Sequence[Chunk]) -> list[PutOutcome]:
        if not chunks:
            return []
        return await self._run(self._writer, lambda conn: _put_batch(conn, chunks))

    async def read_chunks(
        self, job_id: str, from_clock: int = 0, to_clock: int | None = None
    ) -> AsyncIterator[tuple[int, bytes]]:
        upto = (2**63 - 1) if to_clock is None else to_clock
        next_clock = from_clock
        while next_clock <= upto:
            start = next_clock
            rows: list[tuple[int, bytes]] = await self._run(
                self._readers,
                lambda conn, start=start: conn.execute(  # type: ignore[misc]
                    _READ_PAGE, (job_id, start, upto, READ_PAGE_ROWS)
                ).fetchall(),
            )
            for clock, data in rows:
                yield clock, data
            if len(rows) < READ_PAGE_ROWS:
                return
            next_clock = rows[-1][0] + 1

    async def get_job(self, job_id: str) -> JobInfo:
        return await self._run(self._readers, lambda conn: _job_info(conn, job_id))

    async def chunk_index(self, job_id: str) -> list[tuple[int, int]]:
        return await self._run(self._readers, lambda conn: conn.execute(_SELECT_SIZES, (job_id,)).fetchall())

    async def job_status(self, job_id: str) -> JobStatus:
        row = await self._run(self._readers, lambda conn: conn.execute(_SELECT_JOB_ROW, (job_id,)).fetchone())
        if row is None:
            raise JobNotFound(f"job {job_id} not found")
        state, final_clock = row[0], row[1]
        return JobStatus(JobState(state) if state else derived_state(final_clock), final_clock)

    async def delete_job(self, job_id: str) -> bool:
        def delete(conn: sqlite3.Connection) -> bool:
            with conn:
                deleted = conn.execute("DELETE FROM chunks WHERE job_id = ?", (job_id,)).rowcount
                deleted += conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,)).rowcount
            return deleted > 0

        return await self._run(self._writer, delete)

    async def ping(self) -> None:
        await self._run(self._readers, lambda conn: conn.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()


def _put_batch(conn: sqlite3.Connection, chunks: Sequence[Chunk]) -> list[PutOutcome]:
    outcomes: list[PutOutcome] = []
    now = time.time()
    with conn:  # one transaction: all of the batch's accepted chunks commit together
        for chunk in chunks:
            outcomes.append(_put_one(conn, chunk, now))
    return outcomes


def _put_one(conn: sqlite3.Connection, chunk: Chunk, now: float) -> PutOutcome:
    job = conn.execute(_SELECT_JOB, (chunk.job_id,)).fetchone()
    final_clock, max_clock = job if job else (None, -1)
    stored = conn.execute(_SELECT_DIGEST, (chunk.job_id, chunk.clock)).fetchone()
    if stored is not None and stored[0] != chunk.digest:
        return ChunkConflict(f"clock {chunk.clock} of job {chunk.job_id} is stored with other bytes")
    conflict = final_conflict(chunk, final_clock, max_clock)
    if conflict is not None:
        return conflict
    if stored is not None:
        if chunk.final and final_clock is None:
            conn.execute(_SET_FINAL, (chunk.clock, now, chunk.job_id))
        return PutResult.DUPLICATE
    conn.execute(_INSERT_CHUNK, (chunk.job_id, chunk.clock, chunk.size, chunk.digest, chunk.data))
    final = chunk.clock if chunk.final else None
    conn.execute(_UPSERT_JOB, (chunk.job_id, final, chunk.clock, chunk.size, now, now))
    return PutResult.CREATED


def _job_info(conn: sqlite3.Connection, job_id: str) -> JobInfo:
    row = conn.execute(_SELECT_JOB_ROW, (job_id,)).fetchone()
    if row is None:
        raise JobNotFound(f"job {job_id} not found")
    state, final_clock, created_at, updated_at = row
    sizes = conn.execute(_SELECT_SIZES, (job_id,))
    total, count, missing, contiguous_clocks, contiguous_bytes = summarise_clocks(sizes, final_clock)
    return JobInfo(
        job_id=job_id,
        state=JobState(state) if state else derived_state(final_clock),
        bytes=total,
        chunks=count,
        final_clock=final_clock,
        missing=missing,
        contiguous_clocks=contiguous_clocks,
        contiguous_bytes=contiguous_bytes,
        created_at=created_at,
        updated_at=updated_at,
    )

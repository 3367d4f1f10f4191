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

from logstore.chunk import Chunk, digest
from logstore.errors import ChunkConflict, ConfigError, JobNotFound, StoreUnavailable
from logstore.store.archive import (
    ArchiveInfo,
    Segment,
    SegmentRef,
    decode_missing,
    encode_missing,
    pack_sizes,
    pack_times,
    unpack_sizes,
    unpack_times,
)
from logstore.store.interface import (
    JobInfo,
    JobListing,
    JobProtection,
    JobState,
    JobStatus,
    LogStore,
    PutOutcome,
    PutResult,
)
from logstore.store.rules import archived_job_info, chunked_job_info, derived_state, final_conflict

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
    stored_at REAL,               -- unix seconds when first stored (server time); NULL: not kept
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
CREATE INDEX IF NOT EXISTS jobs_by_created_at ON jobs (created_at);
-- The jobs not archived yet, however old, for the sweep: a partial index, so its size follows the
-- running and finished jobs only (created by executescript on databases of older releases too).
CREATE INDEX IF NOT EXISTS jobs_unarchived ON jobs (job_id) WHERE state IS NULL;
CREATE TABLE IF NOT EXISTS segments (
    job_id      TEXT NOT NULL,
    idx         INTEGER NOT NULL, -- 0, 1, 2, ... in log order
    first_clock INTEGER NOT NULL,
    sizes       BLOB NOT NULL,    -- raw size of each chunk, 4 bytes big-endian each
    raw_offset  INTEGER NOT NULL, -- byte offset of the segment in the log
    frame       BLOB NOT NULL,    -- one zstd frame
    times       BLOB,             -- stored_at of each chunk, 8-byte doubles (NaN unknown); NULL: not kept
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS archives (
    job_id           TEXT PRIMARY KEY,
    sha256           TEXT NOT NULL,
    raw_bytes        INTEGER NOT NULL,
    compressed_bytes INTEGER NOT NULL,
    segments         INTEGER NOT NULL,
    chunks           INTEGER NOT NULL,
    final_clock      INTEGER NOT NULL,
    dictionary_id    INTEGER NOT NULL,
    missing          TEXT NOT NULL,   -- JSON [[a, b], ...]
    compacted_at     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dictionaries (
    id   INTEGER PRIMARY KEY,         -- the zstd dictionary id
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS private_jobs (
    job_id TEXT PRIMARY KEY           -- readable only with a read token or a signed URL
);
CREATE TABLE IF NOT EXISTS job_secrets (
    job_id TEXT NOT NULL,
    secret BLOB NOT NULL,             -- a value every read path shows as ***
    PRIMARY KEY (job_id, secret)
);
CREATE TABLE IF NOT EXISTS leases (
    job_id TEXT PRIMARY KEY,
    owner  TEXT NOT NULL,
    until  REAL NOT NULL              -- unix seconds
);
"""

_SELECT_DIGEST = "SELECT digest FROM chunks WHERE job_id = ? AND clock = ?"
_SELECT_JOB = "SELECT final_clock, max_clock, state FROM jobs WHERE job_id = ?"
_INSERT_CHUNK = "INSERT INTO chunks (job_id, clock, size, digest, data, stored_at) VALUES (?, ?, ?, ?, ?, ?)"
_INSERT_SEGMENT = (
    "INSERT OR REPLACE INTO segments (job_id, idx, first_clock, sizes, raw_offset, frame, times)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_READ_SEGMENT = (
    "SELECT idx, first_clock, sizes, raw_offset, frame, times FROM segments WHERE job_id = ? AND idx = ?"
)
# Columns added after the first release, with the type they take in an older database.
_ADDED_COLUMNS = [("chunks", "stored_at", "REAL"), ("segments", "times", "BLOB")]
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
# a chunk of the job that none of its segments holds (stored after the compactor read the chunks)
_SELECT_UNARCHIVED_CHUNK = """
SELECT 1 FROM chunks c WHERE c.job_id = ? AND NOT EXISTS (
    SELECT 1 FROM segments s WHERE s.job_id = c.job_id
    AND c.clock >= s.first_clock AND c.clock < s.first_clock + length(s.sizes) / 4
) LIMIT 1
"""
_SELECT_JOB_ROW = "SELECT state, final_clock, created_at, updated_at FROM jobs WHERE job_id = ?"
# `state IS NULL` matches the partial index jobs_unarchived, which SQLite then walks in job_id order
_SELECT_UNARCHIVED = "SELECT job_id FROM jobs WHERE state IS NULL AND job_id > ? ORDER BY job_id LIMIT ?"


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
            _migrate(conn)

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

    async def chunk_times(self, job_id: str) -> list[tuple[int, float | None]]:
        query = "SELECT clock, stored_at FROM chunks WHERE job_id = ? ORDER BY clock"
        return await self._run(self._readers, lambda conn: conn.execute(query, (job_id,)).fetchall())

    async def job_status(self, job_id: str) -> JobStatus:
        row = await self._run(self._readers, lambda conn: conn.execute(_SELECT_JOB_ROW, (job_id,)).fetchone())
        if row is None:
            raise JobNotFound(f"job {job_id} not found")
        state, final_clock, _, updated_at = row
        return JobStatus(JobState(state) if state else derived_state(final_clock), final_clock, updated_at)

    async def put_segment(self, job_id: str, segment: Segment) -> None:
        ref = segment.ref
        times = pack_times(ref.times)
        row = (
            job_id,
            ref.index,
            ref.first_clock,
            pack_sizes(ref.sizes),
            ref.raw_offset,
            segment.frame,
            times,
        )

        def put(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute(_INSERT_SEGMENT, row)

        await self._run(self._writer, put)

    async def segment_refs(self, job_id: str) -> list[SegmentRef]:
        return await self._run(self._readers, lambda conn: _segment_refs(conn, job_id))

    async def read_segments(self, job_id: str, from_index: int = 0) -> AsyncIterator[Segment]:
        query = _READ_SEGMENT
        index = from_index
        while True:
            at = index
            row = await self._run(
                self._readers,
                lambda conn, at=at: conn.execute(query, (job_id, at)).fetchone(),  # type: ignore[misc]
            )
            if row is None:
                return
            idx, first, sizes, offset, frame, times = row
            yield Segment(SegmentRef(idx, first, unpack_sizes(sizes), offset, unpack_times(times)), frame)
            index += 1

    async def mark_compacted(self, job_id: str, info: ArchiveInfo) -> bool:
        row = (
            job_id, info.sha256, info.raw_bytes, info.compressed_bytes, info.segments, info.chunks,
            info.final_clock, info.dictionary_id, encode_missing(info.missing, info.abandoned), time.time(),
        )  # fmt: skip

        def mark(conn: sqlite3.Connection) -> bool:
            with conn:  # one transaction with the check: a chunk stored after it waits for it
                if conn.execute(_SELECT_UNARCHIVED_CHUNK, (job_id,)).fetchone() is not None:
                    return False
                conn.execute("INSERT OR REPLACE INTO archives VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                conn.execute(
                    "UPDATE jobs SET state = ?, updated_at = ? WHERE job_id = ?",
                    (info.state_name, time.time(), job_id),
                )
                return True

        return await self._run(self._writer, mark)

    async def seal(self, job_id: str, owner: str, seconds: float) -> None:
        """Nothing to do: a chunk and the mark are each one transaction, and the mark checks."""

    async def unseal(self, job_id: str) -> None:
        """See `seal`."""

    async def archive_info(self, job_id: str) -> ArchiveInfo | None:
        return await self._run(self._readers, lambda conn: _archive_info(conn, job_id))

    async def delete_chunks(self, job_id: str, ranges: Sequence[tuple[int, int]]) -> None:
        query = "DELETE FROM chunks WHERE job_id = ? AND clock >= ? AND clock <= ?"

        def delete(conn: sqlite3.Connection) -> None:
            with conn:
                conn.executemany(query, [(job_id, first, last) for first, last in ranges])

        await self._run(self._writer, delete)

    async def restore_chunks(self, job_id: str, chunks: Sequence[tuple[int, bytes, float | None]]) -> None:
        rows = [(job_id, clock, len(data), digest(data), data, at) for clock, data, at in chunks]
        query = _INSERT_CHUNK.replace("INSERT", "INSERT OR IGNORE", 1)

        def restore(conn: sqlite3.Connection) -> None:
            with conn:
                conn.executemany(query, rows)

        await self._run(self._writer, restore)

    async def reopen_job(self, job_id: str) -> None:
        def reopen(conn: sqlite3.Connection) -> None:
            with conn:  # one transaction: readers see the archive or the chunks, never neither
                index_unarchived(conn, job_id)
                conn.execute("UPDATE jobs SET updated_at = ? WHERE job_id = ?", (time.time(), job_id))
                conn.execute("DELETE FROM segments WHERE job_id = ?", (job_id,))
                conn.execute("DELETE FROM archives WHERE job_id = ?", (job_id,))

        await self._run(self._writer, reopen)

    async def put_dictionary(self, dictionary_id: int, data: bytes) -> None:
        def put(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("INSERT OR REPLACE INTO dictionaries VALUES (?, ?)", (dictionary_id, data))

        await self._run(self._writer, put)

    async def get_dictionary(self, dictionary_id: int) -> bytes | None:
        query = "SELECT data FROM dictionaries WHERE id = ?"
        row = await self._run(self._readers, lambda conn: conn.execute(query, (dictionary_id,)).fetchone())
        return bytes(row[0]) if row else None

    async def claim(self, job_id: str, owner: str, lease_s: float) -> bool:
        def claim(conn: sqlite3.Connection) -> bool:
            now = time.time()
            with conn:
                conn.execute(
                    "INSERT INTO leases VALUES (?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET "
                    "owner = excluded.owner, until = excluded.until "
                    "WHERE leases.until < ? OR leases.owner = excluded.owner",
                    (job_id, owner, now + lease_s, now),
                )
                held = conn.execute("SELECT owner FROM leases WHERE job_id = ?", (job_id,)).fetchone()
            return bool(held and held[0] == owner)

        return await self._run(self._writer, claim)

    async def release(self, job_id: str, owner: str) -> None:
        def release(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("DELETE FROM leases WHERE job_id = ? AND owner = ?", (job_id, owner))

        await self._run(self._writer, release)

    async def list_jobs(self, created_after: float, created_before: float, limit: int) -> list[JobListing]:
        query = (
            "SELECT job_id, created_at FROM jobs WHERE created_at >= ? AND created_at < ? "
            "ORDER BY created_at DESC LIMIT ?"
        )
        rows = await self._run(
            self._readers, lambda conn: conn.execute(query, (created_after, created_before, limit)).fetchall()
        )
        return [JobListing(job_id, created_at) for job_id, created_at in rows]

    async def unarchived_jobs(self, after: str | None, limit: int) -> list[str]:
        """Job ids in ascending order; a job is listed while its state is NULL (running or
        finished), which `mark_compacted` sets and `delete_job` removes with the row."""
        params = ("" if after is None else after, limit)
        query = _SELECT_UNARCHIVED
        rows = await self._run(self._readers, lambda conn: conn.execute(query, params).fetchall())
        return [job_id for (job_id,) in rows]

    async def delete_job(self, job_id: str) -> bool:
        def delete(conn: sqlite3.Connection) -> bool:
            with conn:
                deleted = conn.execute("DELETE FROM chunks WHERE job_id = ?", (job_id,)).rowcount
                deleted += conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,)).rowcount
                deleted += conn.execute("DELETE FROM segments WHERE job_id = ?", (job_id,)).rowcount
                conn.execute("DELETE FROM archives WHERE job_id = ?", (job_id,))
                conn.execute("DELETE FROM leases WHERE job_id = ?", (job_id,))
                conn.execute("DELETE FROM private_jobs WHERE job_id = ?", (job_id,))
                conn.execute("DELETE FROM job_secrets WHERE job_id = ?", (job_id,))
            return deleted > 0

        return await self._run(self._writer, delete)

    async def set_private(self, job_id: str) -> None:
        def put(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("INSERT OR IGNORE INTO private_jobs VALUES (?)", (job_id,))

        await self._run(self._writer, put)

    async def add_secrets(self, job_id: str, secrets: Sequence[bytes]) -> None:
        def put(conn: sqlite3.Connection) -> None:
            with conn:
                conn.executemany(
                    "INSERT OR IGNORE INTO job_secrets VALUES (?, ?)", [(job_id, s) for s in secrets]
                )

        await self._run(self._writer, put)

    async def job_protection(self, job_id: str) -> JobProtection:
        def read(conn: sqlite3.Connection) -> JobProtection:
            private = conn.execute("SELECT 1 FROM private_jobs WHERE job_id = ?", (job_id,)).fetchone()
            rows = conn.execute("SELECT secret FROM job_secrets WHERE job_id = ?", (job_id,)).fetchall()
            return JobProtection(private is not None, tuple(sorted(bytes(row[0]) for row in rows)))

        return await self._run(self._readers, read)

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
    final_clock, max_clock, state = job if job else (None, -1, None)
    stored = conn.execute(_SELECT_DIGEST, (chunk.job_id, chunk.clock)).fetchone()
    if stored is not None and stored[0] != chunk.digest:
        return ChunkConflict(f"clock {chunk.clock} of job {chunk.job_id} is stored with other bytes")
    conflict = final_conflict(chunk, final_clock, max_clock, state)
    if conflict is not None:
        return conflict
    if stored is not None:
        if chunk.final and final_clock is None:
            conn.execute(_SET_FINAL, (chunk.clock, now, chunk.job_id))
        return PutResult.DUPLICATE
    conn.execute(_INSERT_CHUNK, (chunk.job_id, chunk.clock, chunk.size, chunk.digest, chunk.data, now))
    final = chunk.clock if chunk.final else None
    conn.execute(_UPSERT_JOB, (chunk.job_id, final, chunk.clock, chunk.size, now, now))
    return PutResult.CREATED


def index_unarchived(conn: sqlite3.Connection, job_id: str) -> None:
    """(Re)list a job in `unarchived_jobs`, for a reopen of an archived job (in its transaction).
    Here that list is the jobs whose state is NULL (derived: running or finished), so this clears
    the archived state; the archive and its segments are the caller's to deal with."""
    conn.execute("UPDATE jobs SET state = NULL WHERE job_id = ?", (job_id,))


def _segment_refs(conn: sqlite3.Connection, job_id: str) -> list[SegmentRef]:
    query = "SELECT idx, first_clock, sizes, raw_offset, times FROM segments WHERE job_id = ? ORDER BY idx"
    rows = conn.execute(query, (job_id,)).fetchall()
    return [
        SegmentRef(i, first, unpack_sizes(sizes), offset, unpack_times(times))
        for i, first, sizes, offset, times in rows
    ]


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns a database made by an older release lacks (their rows read as NULL:
    chunk times unknown). Idempotent."""
    for table, column, kind in _ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def _archive_info(conn: sqlite3.Connection, job_id: str) -> ArchiveInfo | None:
    row = conn.execute(
        "SELECT sha256, raw_bytes, compressed_bytes, segments, chunks, final_clock, dictionary_id, missing "
        "FROM archives WHERE job_id = ?",
        (job_id,),
    ).fetchone()
    if row is None:
        return None
    sha256, raw, compressed, segments, chunks, final_clock, dictionary_id, gaps = row
    missing, abandoned = decode_missing(gaps)
    return ArchiveInfo(
        sha256, raw, compressed, segments, chunks, final_clock, dictionary_id, missing, abandoned
    )


def _job_info(conn: sqlite3.Connection, job_id: str) -> JobInfo:
    row = conn.execute(_SELECT_JOB_ROW, (job_id,)).fetchone()
    if row is None:
        raise JobNotFound(f"job {job_id} not found")
    state, final_clock, created_at, updated_at = row
    archive = _archive_info(conn, job_id) if state and JobState(state).archived else None
    if archive is not None:
        return archived_job_info(job_id, archive, _segment_refs(conn, job_id), created_at, updated_at)
    sizes = conn.execute(_SELECT_SIZES, (job_id,))
    return chunked_job_info(job_id, state, final_clock, sizes, created_at, updated_at)

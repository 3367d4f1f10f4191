"""The two PostgreSQL designs the source talk started from, as consumers' storage step.

AppendSink, the talk's first design: one consumer, each chunk appended in order to one row per log
(`UPDATE ... SET content = content || $1`): every append rewrites the whole (TOASTed) value.

PartsSink, the travis-logs design: chunks buffered into a `log_parts` table in batches (100 parts,
or every 3 s), and the parts aggregated into one `logs` row, then deleted, when the job finishes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

BATCH = 100  # travis-logs drain_batch_size
FLUSH_S = 3.0  # travis-logs flushes its batch at least this often

Stored = Callable[[list[tuple[float, Callable[[], Awaitable[None]]]]], Awaitable[None]]


def tables(prefix: str) -> tuple[str, str]:
    return f"{prefix}_logs", f"{prefix}_log_parts"


async def create_tables(connection: asyncpg.Connection, prefix: str) -> None:
    logs, parts = tables(prefix)
    await connection.execute(
        f"CREATE TABLE IF NOT EXISTS {logs} (job_id text PRIMARY KEY, content bytea NOT NULL);"
        f"CREATE TABLE IF NOT EXISTS {parts} (id bigserial PRIMARY KEY, job_id text NOT NULL, "
        f"number int NOT NULL, content bytea NOT NULL, final boolean NOT NULL);"
        f"CREATE INDEX IF NOT EXISTS {parts}_job ON {parts} (job_id, number);"
    )


async def drop_tables(connection: asyncpg.Connection, prefix: str) -> None:
    logs, parts = tables(prefix)
    await connection.execute(f"DROP TABLE IF EXISTS {logs}; DROP TABLE IF EXISTS {parts};")


@dataclass
class Part:
    job_id: str
    clock: int
    data: bytes
    final: bool
    sent_at: float
    ack: Callable[[], Awaitable[None]]


class AppendSink:
    def __init__(self, connection: asyncpg.Connection, prefix: str) -> None:
        self._connection = connection
        self._logs = tables(prefix)[0]

    async def add(self, part: Part) -> list[Part]:
        """Store one part now; return the parts stored (this one)."""
        status = await self._connection.execute(
            f"UPDATE {self._logs} SET content = content || $2 WHERE job_id = $1", part.job_id, part.data
        )
        if status == "UPDATE 0":
            await self._connection.execute(
                f"INSERT INTO {self._logs} (job_id, content) VALUES ($1, $2)", part.job_id, part.data
            )
        return [part]

    async def tick(self) -> list[Part]:
        return []


class PartsSink:
    def __init__(self, connection: asyncpg.Connection, prefix: str) -> None:
        self._connection = connection
        self._logs, self._parts = tables(prefix)
        self._batch: list[Part] = []
        self._flushed_at = time.monotonic()
        self._lock = asyncio.Lock()

    async def add(self, part: Part) -> list[Part]:
        self._batch.append(part)
        return await self._flush() if len(self._batch) >= BATCH else []

    async def tick(self) -> list[Part]:
        """Called often; flushes a partial batch once FLUSH_S passed since the last flush."""
        if self._batch and time.monotonic() - self._flushed_at >= FLUSH_S:
            return await self._flush()
        return []

    async def _flush(self) -> list[Part]:
        async with self._lock:
            batch, self._batch = self._batch, []
            self._flushed_at = time.monotonic()
            if not batch:
                return []
            async with self._connection.transaction():
                await self._connection.executemany(
                    f"INSERT INTO {self._parts} (job_id, number, content, final) VALUES ($1, $2, $3, $4)",
                    [(p.job_id, p.clock, p.data, p.final) for p in batch],
                )
            for part in batch:
                if part.final:
                    await self._aggregate(part.job_id)
            return batch

    async def _aggregate(self, job_id: str) -> None:
        async with self._connection.transaction():
            await self._connection.execute(
                f"INSERT INTO {self._logs} (job_id, content) SELECT job_id, "
                f"string_agg(content, ''::bytea ORDER BY number) FROM {self._parts} WHERE job_id = $1 "
                f"GROUP BY job_id ON CONFLICT (job_id) DO UPDATE SET content = EXCLUDED.content",
                job_id,
            )
            await self._connection.execute(f"DELETE FROM {self._parts} WHERE job_id = $1", job_id)

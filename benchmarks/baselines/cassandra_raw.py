"""The raw Cassandra ceiling: the same chunk rows our store writes (same table, same columns, same
TTL) through a minimal async loop over a driver, and nothing else (no duplicate check, no job
row, no bucket index, no broker).

Two shapes, each measured with every driver installed, the ceiling being the best of all:
- the fleet's (`cassandra_ceiling`): each job sends its chunks one after the other, one prepared
  INSERT each, as a worker would; this also gives the latency of one write;
- a backlog's (`backlog_ceiling`): every chunk is there at once, written as unlogged batches of
  BATCH_ROWS rows of one partition (one job's consecutive clocks), IN_FLIGHT batches at a time:
  what any client can reach when it drains a queue, and the fair ceiling for our backlog drain.

Drivers: cassandra-driver (the one the store uses, with TCP_NODELAY as the store sets it) and
acsylla (the C++ DataStax driver under asyncio), when installed.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks.harness.fleet import FleetRun, JobLog, run_fleet
from logstore.store.cassandra import statements as cql
from logstore.store.cassandra.futures import execute
from logstore.store.cassandra.session import open_session
from logstore.store.cassandra.url import CassandraTarget, parse_cassandra_url

BATCH_ROWS = 16
IN_FLIGHT = 64
DRIVERS = ("cassandra-driver", "acsylla")


def installed(driver: str) -> bool:
    return driver == "cassandra-driver" or importlib.util.find_spec(driver) is not None


def _row(target: CassandraTarget, job_id: str, clock: int, data: bytes) -> list[Any]:
    digest = hashlib.blake2b(data, digest_size=16).digest()
    stored_at = datetime.now(UTC)
    return [job_id, cql.bucket_of(clock), clock, len(data), digest, data, stored_at, target.chunk_ttl_s]


class _Writer:
    """insert(row) and batch(rows) over one driver; open() then close()."""

    def __init__(self, target: CassandraTarget, driver: str) -> None:
        self.target = target
        self.driver = driver
        self._close: Any = None

    async def open(self) -> None:
        text = cql.INSERT_CHUNK.format(ks=self.target.keyspace)
        if self.driver == "acsylla":
            import acsylla

            cluster = acsylla.create_cluster(
                list(self.target.hosts), port=self.target.port, protocol_version=4
            )
            session = await cluster.create_session()
            prepared = await session.create_prepared(text)

            async def insert(row: list[Any]) -> None:
                await session.execute(prepared.bind(row))

            async def batch(rows: list[list[Any]]) -> None:
                statements = acsylla.create_batch_unlogged()
                for row in rows:
                    statements.add_statement(prepared.bind(row))
                await session.execute_batch(statements)

            self._close = session.close
        else:
            from cassandra.query import BatchStatement, BatchType

            cluster, driver_session = await open_session(self.target)
            statement = driver_session.prepare(text)
            statement.is_idempotent = True

            async def insert(row: list[Any]) -> None:
                await execute(driver_session, statement, row)

            async def batch(rows: list[list[Any]]) -> None:
                statements = BatchStatement(batch_type=BatchType.UNLOGGED)
                for row in rows:
                    statements.add(statement, row)
                await execute(driver_session, statements)

            async def close() -> None:
                await asyncio.to_thread(cluster.shutdown)

            self._close = close
        self.insert, self.batch = insert, batch

    async def close(self) -> None:
        if self._close is not None:
            await self._close()


async def cassandra_ceiling(
    store_url: str, jobs: list[JobLog], pace_s: float | None, driver: str = "cassandra-driver"
) -> tuple[FleetRun, list[float]]:
    """Write every job's chunks like the fleet sends them, one INSERT each; return the run and
    per-chunk latencies (write acknowledged minus send time)."""
    target = parse_cassandra_url(store_url)
    writer = _Writer(target, driver)
    await writer.open()
    latencies: list[float] = []
    try:

        async def sink(job_id: str, clock: int, data: bytes, final: bool, sent_at: float) -> None:
            await writer.insert(_row(target, job_id, clock, data))
            latencies.append(time.time() - sent_at)

        run = await run_fleet(jobs, sink, pace_s)
    finally:
        await writer.close()
    return run, latencies


async def backlog_ceiling(
    store_url: str, jobs: list[JobLog], driver: str, rows_per_batch: int = BATCH_ROWS
) -> dict[str, float]:
    """Write every chunk of `jobs` as single-partition batches (1 = one INSERT per chunk), with
    IN_FLIGHT requests at a time: chunks/s, MB/s and this process's CPU microseconds per chunk."""
    target = parse_cassandra_url(store_url)
    groups: list[list[list[Any]]] = []
    for job in jobs:
        for first in range(0, job.chunks, rows_per_batch):
            clocks = range(first, min(job.chunks, first + rows_per_batch))
            by_bucket: dict[int, list[list[Any]]] = {}
            for clock in clocks:  # a batch never spans two partitions
                by_bucket.setdefault(cql.bucket_of(clock), []).append(
                    _row(target, job.job_id, clock, job.piece(clock))
                )
            groups += by_bucket.values()
    writer = _Writer(target, driver)
    await writer.open()
    try:
        pending = iter(groups)

        async def lane() -> None:
            for rows in pending:
                await (writer.insert(rows[0]) if len(rows) == 1 else writer.batch(rows))

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(IN_FLIGHT)))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await writer.close()
    chunks = sum(len(rows) for rows in groups)
    size = sum(job.size for job in jobs)
    return {
        "chunks": chunks,
        "seconds": seconds,
        "chunks_per_s": chunks / seconds,
        "mb_per_s": size / seconds / 1e6,
        "cpu_us_per_chunk": cpu / chunks * 1e6,
    }

"""The statements of the write path (writes.py) and of the download path, behind one small
interface, so that the driver underneath is a choice measured in the benchmark (`?driver=` in the
store URL):

- `acsylla` (the default): the DataStax C++ driver under asyncio, for the write path and for
  reading a log's chunks (READ_PATH); leases, schema and the other reads stay on the Python
  driver. Encoding, decoding, routing and the I/O happen in C++, off the interpreter: the Python
  driver's per-statement work was the largest part of an ingester's CPU, and decoding rows on its
  libev thread the largest part of a download's;
- `cassandra-driver`: the DataStax Python driver, as everywhere else in the backend.

Both run the same prepared CQL (statements.py) with the same consistency, timeout and
TCP_NODELAY, and both raise StoreUnavailable for anything that means "not stored now".
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, Protocol, TypeVar

from cassandra.query import BatchStatement, BatchType, PreparedStatement

from logstore.errors import StoreUnavailable
from logstore.store.cassandra import statements as cql
from logstore.store.cassandra.futures import execute
from logstore.store.cassandra.url import CassandraTarget

T = TypeVar("T")


class WriteStatements(Protocol):
    async def run(self, name: str, *params: Any) -> list[Any]:
        """Run the prepared statement `name` (statements.py) with `params`: its rows as tuples."""

    async def insert_chunks(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """INSERT_CHUNK for rows of one partition, as one mutation (an unlogged batch)."""


class DriverStatements:
    """Through the Python driver's session and its prepared statements."""

    def __init__(self, session: Any, prepared: dict[str, PreparedStatement], timeout_s: float) -> None:
        self._session = session
        self._prepared = prepared
        self._timeout_s = timeout_s

    async def run(self, name: str, *params: Any) -> list[Any]:
        return await execute(self._session, self._prepared[name], params, self._timeout_s)

    async def insert_chunks(self, rows: Sequence[tuple[Any, ...]]) -> None:
        insert = self._prepared["INSERT_CHUNK"]
        if len(rows) == 1:
            await execute(self._session, insert, rows[0], self._timeout_s)
            return
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        batch.is_idempotent = True
        for row in rows:
            batch.add(insert, row)
        await execute(self._session, batch, None, self._timeout_s)


WRITE_PATH = (
    "INSERT_CHUNK", "INSERT_BUCKET", "TOUCH_JOB", "SET_FINAL", "SELECT_JOBS", "SELECT_LAST_BUCKET",
    "SELECT_LAST_CLOCK", "SELECT_DIGESTS", "SELECT_DIGESTS_OF_JOBS", "INSERT_JOB_DAY", "INSERT_DAY_OF_JOB",
    "INSERT_UNARCHIVED",
)  # fmt: skip
READ_PATH = ("READ_PAGE", "SELECT_SIZES", "SELECT_BUCKETS")  # a download: its chunk index and pages


class AcsyllaStatements:
    """Through acsylla: its own connections, token-aware, TCP_NODELAY, the same consistency and
    per-request timeout, speculative execution as on the Python driver (every statement here
    is idempotent)."""

    def __init__(self, session: Any, prepared: dict[str, Any]) -> None:
        self._session = session
        self._prepared = prepared

    @classmethod
    async def connect(cls, target: CassandraTarget) -> AcsyllaStatements:
        import acsylla

        try:
            cluster = acsylla.create_cluster(
                list(target.hosts),
                port=target.port,
                connect_timeout=target.connect_timeout_s,
                request_timeout=target.timeout_s,
                consistency=acsylla.Consistency[target.consistency],
                tcp_nodelay=True,
                exponential_reconnect_base_delay_ms=500,
                exponential_reconnect_max_delay_ms=10_000,
                heartbeat_interval_sec=10,
                idle_timeout_sec=30,
                speculative_execution_policy=acsylla.SpeculativeExecutionPolicy(500, 1),
                log_level="critical",
            )
            session = await cluster.create_session(keyspace=target.keyspace)
            prepared = {}
            for name in (*WRITE_PATH, *READ_PATH):
                prepared[name] = await session.create_prepared(getattr(cql, name).format(ks=target.keyspace))
        except acsylla.errors.CassException as exc:
            raise StoreUnavailable(f"cassandra (acsylla): {type(exc).__name__}: {exc}") from exc
        return cls(session, prepared)

    async def run(self, name: str, *params: Any) -> list[Any]:
        statement = self._prepared[name].bind(list(params))
        statement.set_is_idempotent(True)
        result = await self._call(self._session.execute(statement))
        return [row.as_tuple() for row in result]

    async def insert_chunks(self, rows: Sequence[tuple[Any, ...]]) -> None:
        import acsylla

        insert = self._prepared["INSERT_CHUNK"]
        if len(rows) == 1:
            await self.run("INSERT_CHUNK", *rows[0])
            return
        batch = acsylla.create_batch_unlogged()
        batch.set_is_idempotent(True)
        for row in rows:
            batch.add_statement(insert.bind(list(row)))
        await self._call(self._session.execute_batch(batch))

    @staticmethod
    async def _call(request: Awaitable[T]) -> T:
        import acsylla

        try:
            return await request
        except (acsylla.errors.CassErrorServerSyntaxError, acsylla.errors.CassErrorServerInvalidQuery):
            raise  # our bug, not an outage
        except acsylla.errors.CassException as exc:
            raise StoreUnavailable(f"cassandra (acsylla): {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        await self._session.close()

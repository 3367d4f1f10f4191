"""`logstore schema apply`: create the keyspace and apply the versioned .cql files, idempotently.

Each file `NNNN_name.cql` in schema/ is applied once, in order, and recorded in
`schema_migrations`; its statements use IF NOT EXISTS so a file interrupted half-way can run again.
A version may also need data written (BACKFILLS): that runs after its file and before it is
recorded, and is idempotent too.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from importlib import resources

from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.query import SimpleStatement

from logstore.store.cassandra import statements as cql
from logstore.store.cassandra.session import open_session
from logstore.store.cassandra.url import CassandraTarget

_FILE = re.compile(r"(\d{4})_(\w+)\.cql")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, text) of every schema file, by version."""
    found = []
    for entry in resources.files("logstore.store.cassandra").joinpath("schema").iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found)


def split_statements(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    body = "\n".join(line.split("--", 1)[0] if "--" in line else line for line in lines)
    return [stmt.strip() for stmt in body.split(";") if stmt.strip()]


def _apply(session: Session, target: CassandraTarget) -> list[int]:
    ks = target.keyspace
    session.execute(cql.CREATE_KEYSPACE.format(ks=ks, rf=target.replication))
    session.execute(cql.MIGRATIONS_TABLE.format(ks=ks))
    done = {row[0] for row in session.execute(cql.SELECT_MIGRATIONS.format(ks=ks))}
    applied = []
    for version, name, text in migrations():
        if version in done:
            continue
        for statement in split_statements(text.replace("{keyspace}", ks)):
            session.execute(statement, timeout=60)
        if version in BACKFILLS:
            BACKFILLS[version](session, ks)
        session.execute(cql.INSERT_MIGRATION.format(ks=ks), (version, name, datetime.now(UTC)))
        applied.append(version)
    return applied


BACKFILL_PAGE = 1_000  # rows of the jobs table per page of a backfill's scan


def backfill_unarchived(session: Session, ks: str) -> int:
    """Version 8: list in unarchived_jobs every job whose row is not archived; return how many.
    Idempotent (rewrites the same rows). A job a process of an older release creates after this
    scan passes it is listed when its final chunk is stored (the write path lists a job again
    then); run `logstore schema apply` before upgrading the processes, as for any version."""
    scan = SimpleStatement(cql.SELECT_ALL_JOB_STATES.format(ks=ks), fetch_size=BACKFILL_PAGE)
    insert = session.prepare(cql.INSERT_UNARCHIVED.format(ks=ks))
    listed = 0
    batch: list[tuple[int, str]] = []
    for job_id, state in session.execute(scan, timeout=60):
        if state is None:
            batch.append((cql.unarchived_shard(job_id), job_id))
        if len(batch) >= BACKFILL_PAGE:
            execute_concurrent_with_args(session, insert, batch, concurrency=32)
            listed, batch = listed + len(batch), []
    execute_concurrent_with_args(session, insert, batch, concurrency=32)
    return listed + len(batch)


BACKFILLS = {8: backfill_unarchived}


async def apply_schema(target: CassandraTarget) -> list[int]:
    """Apply what is missing; return the versions applied now (empty when already current)."""
    cluster, session = await open_session(target)
    try:
        return await asyncio.to_thread(_apply, session, target)
    finally:
        await asyncio.to_thread(cluster.shutdown)


REQUIRED_TABLES = {
    "chunks", "jobs", "job_buckets", "segments", "archives", "compaction_leases", "jobs_by_day", "job_days",
    "dictionaries", "job_protection", "unarchived_jobs", "health",
}  # fmt: skip


def schema_present(session: Session, keyspace: str) -> bool:
    rows = session.execute(cql.SELECT_KEYSPACE_TABLES, (keyspace,))
    return {row[0] for row in rows} >= REQUIRED_TABLES

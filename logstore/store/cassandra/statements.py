"""CQL statements of the Cassandra backend, named next to each other. `{ks}` is the keyspace."""

from __future__ import annotations

CLOCKS_PER_BUCKET = 256  # bounds a partition to 256 chunks (256 MiB at the largest chunk size)

INSERT_CHUNK = "INSERT INTO {ks}.chunks (job_id, bucket, clock, size, digest, data) VALUES (?, ?, ?, ?, ?, ?)"
INSERT_BUCKET = "INSERT INTO {ks}.job_buckets (job_id, bucket) VALUES (?, ?)"
TOUCH_JOB = "UPDATE {ks}.jobs SET updated_at = ? WHERE job_id = ?"
SET_FINAL = "UPDATE {ks}.jobs SET final_clock = ?, updated_at = ? WHERE job_id = ?"
SELECT_JOB = "SELECT state, final_clock, updated_at FROM {ks}.jobs WHERE job_id = ?"
SELECT_BUCKETS = "SELECT bucket FROM {ks}.job_buckets WHERE job_id = ?"
SELECT_LAST_BUCKET = "SELECT bucket FROM {ks}.job_buckets WHERE job_id = ? ORDER BY bucket DESC LIMIT 1"
SELECT_LAST_CLOCK = (
    "SELECT clock FROM {ks}.chunks WHERE job_id = ? AND bucket = ? ORDER BY clock DESC LIMIT 1"
)
SELECT_DIGESTS = "SELECT clock, digest FROM {ks}.chunks WHERE job_id = ? AND bucket = ? AND clock IN ?"
SELECT_SIZES = "SELECT clock, size FROM {ks}.chunks WHERE job_id = ? AND bucket = ?"
READ_PAGE = (
    "SELECT clock, data FROM {ks}.chunks WHERE job_id = ? AND bucket = ? AND clock >= ? AND clock <= ? "
    "LIMIT ?"
)
DELETE_BUCKET = "DELETE FROM {ks}.chunks WHERE job_id = ? AND bucket = ?"
DELETE_BUCKETS = "DELETE FROM {ks}.job_buckets WHERE job_id = ?"
DELETE_JOB = "DELETE FROM {ks}.jobs WHERE job_id = ?"

MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS {ks}.schema_migrations "
    "(version int PRIMARY KEY, name text, applied_at timestamp)"
)
SELECT_MIGRATIONS = "SELECT version FROM {ks}.schema_migrations"
INSERT_MIGRATION = "INSERT INTO {ks}.schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)"
CREATE_KEYSPACE = (
    "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
    "{{'class': 'SimpleStrategy', 'replication_factor': {rf}}}"
)
SELECT_KEYSPACE_TABLES = "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s"


def bucket_of(clock: int) -> int:
    return clock // CLOCKS_PER_BUCKET

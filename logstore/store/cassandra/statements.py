"""CQL statements of the Cassandra backend, named next to each other. `{ks}` is the keyspace."""

from __future__ import annotations

import zlib

CLOCKS_PER_BUCKET = 256  # bounds a partition to 256 chunks (256 MiB at the largest chunk size)

INSERT_CHUNK = (
    "INSERT INTO {ks}.chunks (job_id, bucket, clock, size, digest, data, stored_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?"
)
INSERT_BUCKET = "INSERT INTO {ks}.job_buckets (job_id, bucket) VALUES (?, ?)"
TOUCH_JOB = "UPDATE {ks}.jobs SET updated_at = ? WHERE job_id = ?"
SET_FINAL = "UPDATE {ks}.jobs SET final_clock = ?, updated_at = ? WHERE job_id = ?"
SELECT_JOB = "SELECT state, final_clock, updated_at FROM {ks}.jobs WHERE job_id = ?"
SELECT_JOBS = "SELECT job_id, state, final_clock, updated_at, sealed_by FROM {ks}.jobs WHERE job_id IN ?"
SELECT_BUCKETS = "SELECT bucket FROM {ks}.job_buckets WHERE job_id = ?"
SELECT_LAST_BUCKET = "SELECT bucket FROM {ks}.job_buckets WHERE job_id = ? ORDER BY bucket DESC LIMIT 1"
SELECT_LAST_CLOCK = (
    "SELECT clock FROM {ks}.chunks WHERE job_id = ? AND bucket = ? ORDER BY clock DESC LIMIT 1"
)
SELECT_DIGESTS = "SELECT clock, digest FROM {ks}.chunks WHERE job_id = ? AND bucket = ? AND clock IN ?"
SELECT_DIGESTS_OF_JOBS = (
    "SELECT job_id, clock, digest FROM {ks}.chunks WHERE job_id IN ? AND bucket = ? AND clock IN ?"
)
SELECT_SIZES = "SELECT clock, size FROM {ks}.chunks WHERE job_id = ? AND bucket = ?"
SELECT_TIMES = "SELECT clock, stored_at FROM {ks}.chunks WHERE job_id = ? AND bucket = ?"
READ_PAGE = (
    "SELECT clock, data FROM {ks}.chunks WHERE job_id = ? AND bucket = ? AND clock >= ? AND clock <= ? "
    "LIMIT ?"
)
DELETE_BUCKET = "DELETE FROM {ks}.chunks WHERE job_id = ? AND bucket = ?"
# a range of one partition's clocks: one range tombstone
DELETE_CLOCKS = "DELETE FROM {ks}.chunks WHERE job_id = ? AND bucket = ? AND clock >= ? AND clock <= ?"
DELETE_BUCKETS = "DELETE FROM {ks}.job_buckets WHERE job_id = ?"
DELETE_JOB = "DELETE FROM {ks}.jobs WHERE job_id = ?"
# readiness: a write at the write consistency, which fails while too few replicas are up
PING_WRITE = "INSERT INTO {ks}.health (probe, written_at) VALUES ('ping', ?)"

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


def bucket_ranges(first: int, last: int) -> list[tuple[int, int, int]]:
    """The inclusive clock range first..last cut at bucket edges: (bucket, first, last) each."""
    return [
        (bucket, max(first, bucket * CLOCKS_PER_BUCKET), min(last, (bucket + 1) * CLOCKS_PER_BUCKET - 1))
        for bucket in range(bucket_of(first), bucket_of(last) + 1)
    ]


# The unarchived_jobs table (schema version 8). Fixed for good: a row is found again (to delete
# it) only in the shard its job id hashes to. 64 partitions keep each one's tombstones (a row
# deleted per archived job) at 1/64 of the archiving rate: at 100,000 jobs a day and the default
# gc_grace_seconds of 10 days, about 16,000 a partition, under Cassandra's 100,000 failure threshold.
UNARCHIVED_SHARDS = 64
INSERT_UNARCHIVED = "INSERT INTO {ks}.unarchived_jobs (shard, job_id) VALUES (?, ?)"
DELETE_UNARCHIVED = "DELETE FROM {ks}.unarchived_jobs WHERE shard = ? AND job_id = ?"
# one page of a shard, after the last job id of the previous page ('' for the first)
SELECT_UNARCHIVED = "SELECT job_id FROM {ks}.unarchived_jobs WHERE shard = ? AND job_id > ? LIMIT ?"
SELECT_ALL_JOB_STATES = "SELECT job_id, state FROM {ks}.jobs"  # the backfill of version 8 only


def unarchived_shard(job_id: str) -> int:
    return zlib.crc32(job_id.encode()) % UNARCHIVED_SHARDS


INSERT_SEGMENT = (
    "INSERT INTO {ks}.segments (job_id, idx, first_clock, sizes, raw_offset, frame, times) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
SELECT_SEGMENT_REFS = "SELECT idx, first_clock, sizes, raw_offset, times FROM {ks}.segments WHERE job_id = ?"
SELECT_SEGMENT = (
    "SELECT idx, first_clock, sizes, raw_offset, frame, times FROM {ks}.segments WHERE job_id = ? AND idx = ?"
)
INSERT_ARCHIVE = (
    "INSERT INTO {ks}.archives (job_id, sha256, raw_bytes, compressed_bytes, segments, chunks, final_clock, "
    "dictionary_id, missing, compacted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SELECT_ARCHIVE = (
    "SELECT sha256, raw_bytes, compressed_bytes, segments, chunks, final_clock, dictionary_id, missing "
    "FROM {ks}.archives WHERE job_id = ?"
)
SET_STATE = "UPDATE {ks}.jobs SET state = ?, updated_at = ? WHERE job_id = ?"
SEAL = "UPDATE {ks}.jobs USING TTL ? SET sealed_by = ? WHERE job_id = ?"
UNSEAL = "UPDATE {ks}.jobs SET sealed_by = null WHERE job_id = ?"
CLEAR_STATE = "UPDATE {ks}.jobs SET state = null, updated_at = ? WHERE job_id = ?"
CLAIM = "INSERT INTO {ks}.compaction_leases (job_id, owner) VALUES (?, ?) IF NOT EXISTS USING TTL ?"
RENEW = "UPDATE {ks}.compaction_leases USING TTL ? SET owner = ? WHERE job_id = ? IF owner = ?"
RELEASE = "DELETE FROM {ks}.compaction_leases WHERE job_id = ? IF owner = ?"
DELETE_SEGMENTS = "DELETE FROM {ks}.segments WHERE job_id = ?"
DELETE_ARCHIVE = "DELETE FROM {ks}.archives WHERE job_id = ?"

INSERT_JOB_DAY = "INSERT INTO {ks}.jobs_by_day (day, job_id, created_at) VALUES (?, ?, ?)"
INSERT_DAY_OF_JOB = "INSERT INTO {ks}.job_days (job_id, day) VALUES (?, ?)"
SELECT_DAY_OF_JOB = "SELECT day FROM {ks}.job_days WHERE job_id = ?"
# one page of a day's jobs, after the last job id of the previous page ('' for the first)
SELECT_JOBS_OF_DAY = "SELECT job_id, created_at FROM {ks}.jobs_by_day WHERE day = ? AND job_id > ? LIMIT ?"
DELETE_JOB_DAY = "DELETE FROM {ks}.jobs_by_day WHERE day = ? AND job_id = ?"
DELETE_DAY_OF_JOB = "DELETE FROM {ks}.job_days WHERE job_id = ?"

INSERT_DICTIONARY = "INSERT INTO {ks}.dictionaries (id, data) VALUES (?, ?)"
SELECT_DICTIONARY = "SELECT data FROM {ks}.dictionaries WHERE id = ?"

SET_PRIVATE = "UPDATE {ks}.job_protection SET private = true WHERE job_id = ?"
ADD_SECRETS = "UPDATE {ks}.job_protection SET secrets = secrets + ? WHERE job_id = ?"  # a set: repeatable
SELECT_PROTECTION = "SELECT private, secrets FROM {ks}.job_protection WHERE job_id = ?"
DELETE_PROTECTION = "DELETE FROM {ks}.job_protection WHERE job_id = ?"

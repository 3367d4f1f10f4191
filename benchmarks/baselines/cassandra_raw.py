"""The raw Cassandra ceiling: the same chunk rows our store writes (same table, same columns, same
TTL), through a minimal async loop over the driver: one prepared INSERT per chunk and nothing else
(no duplicate check, no job row, no bucket index, no broker)."""

from __future__ import annotations

import hashlib
import time

from benchmarks.fleet import FleetRun, JobLog, run_fleet
from logstore.store.cassandra import statements as cql
from logstore.store.cassandra.futures import bridge
from logstore.store.cassandra.session import open_session
from logstore.store.cassandra.url import parse_cassandra_url


async def cassandra_ceiling(
    store_url: str, jobs: list[JobLog], pace_s: float | None, until: float | None = None
) -> tuple[FleetRun, list[float]]:
    """Write every job's chunks like the fleet sends them; return the run and per-chunk latencies
    (write acknowledged minus send time)."""
    target = parse_cassandra_url(store_url)
    cluster, session = await open_session(target)
    latencies: list[float] = []
    try:
        insert = session.prepare(cql.INSERT_CHUNK.format(ks=target.keyspace))
        insert.is_idempotent = True

        async def sink(job_id: str, clock: int, data: bytes, final: bool, sent_at: float) -> None:
            digest = hashlib.blake2b(data, digest_size=16).digest()
            params = (job_id, cql.bucket_of(clock), clock, len(data), digest, data, target.chunk_ttl_s)
            await bridge(session.execute_async(insert, params))
            latencies.append(time.time() - sent_at)

        run = await run_fleet(jobs, sink, pace_s, until)
    finally:
        cluster.shutdown()
    return run, latencies

"""The Cassandra write path: a batch of chunks of any jobs in two round trips in the common case.

1. Read, all at once: the job rows of every job in the batch (one `IN` statement per
   JOBS_PER_READ jobs), the digests already stored for the batch's clocks (one `IN` statement per
   chunk partition), and, for a job whose batch holds its final chunk, its highest stored clock.
2. Decide each chunk's outcome (rules.final_conflict, the digest check): created, duplicate or
   refused.
3. Write: a new bucket's row and a new job's index rows first (so whoever sees a chunk also finds
   its bucket, and a job with a row is listed, by day and among the unarchived jobs), then the
   chunks as one unlogged batch per chunk partition (one mutation: all of it or nothing lands,
   and Cassandra does not size-check a single-partition batch), with the job's updated_at
   refresh beside them; the final clock last.

The guarantees and the races each tolerates:
- Byte-exact, idempotent per (job_id, clock): a chunk whose digest is stored is a duplicate and is
  not written again. Every statement may be repeated (same values), so retrying a batch after
  StoreUnavailable is safe: a partly written batch is completed, never doubled.
- Conflicting bytes refused: seen through the digest read. Two writers racing with *different*
  bytes for the same clock can both read nothing and both write; the later write wins. Making
  that exact needs a lightweight transaction per chunk (Paxos, four round trips); a worker that
  sends different bytes for a clock it already sent is broken anyway, and the window is the
  read -> write time of one batch (milliseconds).
- Nothing after the final clock, no final clock below a stored clock, nothing into an archived
  job: checked against the job row read in step 1, never a cached copy, because another process
  may set the final clock or archive the job at any time. A chunk and a final clock sent at once
  to two ingesters (or two batches
  one ingester stores at once) can both pass; the window is again one batch's read -> write time. Caching the
  row would stretch it to the cache's lifetime, so the row is read every batch, for all of the
  batch's jobs in one statement.
- Never acknowledged and then archived away: a compactor seals the job (`sealed_by`, with a TTL)
  before it reads the job's chunks, and writers read the job rows again after their writes. A
  job sealed or archived by then reports its new chunks as JobArchived(stored) instead of
  CREATED, and the ingest service waits for the compactor and reopens the job if its archive
  lacks them. Both sides write before they read, at the configured consistency, so at least one
  sees the other: either the compactor's read finds the chunk, or the writer's second read finds
  the seal. No crash of either side in between leaves an acknowledged chunk outside the archive.
- Durable before the caller acknowledges: put_chunks returns only after every write of the batch
  was acknowledged at the configured consistency.

What is cached, and why that is safe: the bucket rows this process wrote (a bucket row, once
written, is only removed with the whole job: delete_job and delete_chunks forget the job here).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from logstore.chunk import Chunk, digest
from logstore.errors import ChunkConflict
from logstore.store.cassandra import statements as cql
from logstore.store.cassandra.write_statements import WriteStatements
from logstore.store.interface import JobState, PutOutcome, PutResult
from logstore.store.rules import archived_conflict, final_conflict

TOUCH_EVERY_S = 10.0  # refresh a job's updated_at at most this often (it says "still active")
KNOWN_BUCKET_JOBS = 20_000  # jobs whose written bucket rows this process remembers
JOBS_PER_READ = 100  # job ids per `IN` read of the jobs table
BATCH_BYTES = 4 * 1024 * 1024  # chunk bytes per unlogged batch (a mutation must stay under 16 MiB)

Write = Callable[[], Awaitable[Any]]


@dataclass
class JobRow:
    state: str | None = None
    final_clock: int | None = None
    updated_at: datetime | None = None
    exists: bool = False
    sealed: bool = False  # a compactor is reading the job's chunks (schema version 10)


@dataclass
class JobPlan:
    """What one job's chunks of a batch come to: an outcome per chunk and the writes to make."""

    job_id: str
    row: JobRow
    chunks: list[Chunk] = field(default_factory=list)  # the job's chunks of the batch, in order
    outcomes: list[PutOutcome] = field(default_factory=list)
    to_write: list[Chunk] = field(default_factory=list)
    new_final: int | None = None


def plan_job(chunks: list[Chunk], row: JobRow, stored: dict[int, bytes], max_clock: int) -> JobPlan:
    """Decide each chunk of one job, in order (a second copy in the batch is a duplicate)."""
    plan = JobPlan(chunks[0].job_id, row, chunks)
    final_clock = row.final_clock
    for chunk in chunks:
        known = stored.get(chunk.clock)
        if known is not None and known != chunk.digest:
            plan.outcomes.append(
                ChunkConflict(f"clock {chunk.clock} of job {chunk.job_id} is stored with other bytes")
            )
            continue
        conflict = final_conflict(chunk, final_clock, max_clock, row.state)
        if conflict is not None:
            plan.outcomes.append(conflict)
            continue
        if chunk.final and final_clock is None:
            final_clock = plan.new_final = chunk.clock
        if known is None:
            stored[chunk.clock] = chunk.digest
            plan.to_write.append(chunk)
            max_clock = max(max_clock, chunk.clock)
            plan.outcomes.append(PutResult.CREATED)
        else:
            plan.outcomes.append(PutResult.DUPLICATE)
    return plan


class ChunkWriter:
    def __init__(self, statements: WriteStatements, ttl_s: int) -> None:
        self._statements = statements
        self._run = statements.run
        self._ttl_s = ttl_s
        # Bucket rows this process has written, per job, so the next chunks in the same bucket
        # need no bucket write. Forgotten when the job's row is found missing (new or deleted).
        self._known_buckets: OrderedDict[str, set[int]] = OrderedDict()

    def forget(self, job_id: str) -> None:
        self._known_buckets.pop(job_id, None)

    async def put_chunks(self, chunks: Sequence[Chunk]) -> list[PutOutcome]:
        by_job: dict[str, list[Chunk]] = defaultdict(list)
        for chunk in chunks:
            by_job[chunk.job_id].append(chunk)
        rows, stored, max_clocks = await asyncio.gather(
            self._job_rows(list(by_job)),
            self._stored_digests(chunks),
            self._max_clocks([job for job, mine in by_job.items() if any(c.final for c in mine)]),
        )
        plans = [
            plan_job(mine, rows.get(job, JobRow()), stored.get(job, {}), max_clocks.get(job, -1))
            for job, mine in by_job.items()
        ]
        await self._write(plans)
        await self._recheck_archived([plan for plan in plans if plan.to_write])
        per_job = {plan.job_id: iter(plan.outcomes) for plan in plans}
        return [next(per_job[chunk.job_id]) for chunk in chunks]

    async def _recheck_archived(self, plans: list[JobPlan]) -> None:
        """Chunks of a job sealed or archived while they were written: JobArchived(stored), not
        CREATED (the compactor may have read the job's chunks before they landed)."""
        if not plans:
            return
        rows = await self._job_rows([plan.job_id for plan in plans])
        for plan in plans:
            row = rows.get(plan.job_id, JobRow())
            archived = row.state is not None and JobState(row.state).archived
            if not (archived or row.sealed):
                continue
            plan.outcomes = [
                archived_conflict(chunk, row.state, stored=True) if outcome is PutResult.CREATED else outcome
                for chunk, outcome in zip(plan.chunks, plan.outcomes, strict=True)
            ]

    async def restore(self, job_id: str, chunks: Sequence[tuple[int, bytes, float | None]]) -> None:
        """Write archived chunks back (logstore/store/reopen.py): bucket rows first, as always."""
        buckets = {cql.bucket_of(clock) for clock, _, _ in chunks}
        await asyncio.gather(*(self._run("INSERT_BUCKET", job_id, bucket) for bucket in buckets))
        rows = [
            (job_id, cql.bucket_of(clock), clock, len(data), digest(data), data, _datetime(at), self._ttl_s)
            for clock, data, at in chunks
        ]
        await asyncio.gather(*(self._statements.insert_chunks(group) for group in _partition_groups(rows)))

    # -- step 1: reads -------------------------------------------------------------------

    async def _job_rows(self, job_ids: list[str]) -> dict[str, JobRow]:
        pages = await asyncio.gather(
            *(
                self._run("SELECT_JOBS", job_ids[i : i + JOBS_PER_READ])
                for i in range(0, len(job_ids), JOBS_PER_READ)
            )
        )
        return {
            job_id: JobRow(state, final_clock, updated_at, exists=True, sealed=sealed_by is not None)
            for rows in pages
            for job_id, state, final_clock, updated_at, sealed_by in rows
        }

    async def _stored_digests(self, chunks: Sequence[Chunk]) -> dict[str, dict[int, bytes]]:
        """One read per partition holding several of the batch's clocks; the partitions holding
        one clock, grouped by (bucket, clock), one read per group of up to JOBS_PER_READ jobs (a
        backlog drained from many jobs at once has one chunk of each job per batch, mostly at the
        same clocks)."""
        clocks: dict[tuple[str, int], set[int]] = defaultdict(set)
        for chunk in chunks:
            clocks[(chunk.job_id, cql.bucket_of(chunk.clock))].add(chunk.clock)
        reads: list[Awaitable[list[Any]]] = []
        singles: dict[tuple[int, int], list[str]] = defaultdict(list)
        for (job, bucket), mine in clocks.items():
            if len(mine) == 1:
                singles[(bucket, next(iter(mine)))].append(job)
            else:
                reads.append(self._digests_of_jobs([job], bucket, sorted(mine)))
        for (bucket, clock), jobs in singles.items():
            reads += [
                self._digests_of_jobs(jobs[i : i + JOBS_PER_READ], bucket, [clock])
                for i in range(0, len(jobs), JOBS_PER_READ)
            ]
        stored: dict[str, dict[int, bytes]] = defaultdict(dict)
        for rows in await asyncio.gather(*reads):
            for job, clock, known in rows:
                stored[job][clock] = known
        return stored

    async def _digests_of_jobs(self, jobs: list[str], bucket: int, clocks: list[int]) -> list[Any]:
        """(job_id, clock, digest) stored for these jobs at these clocks of one bucket."""
        if len(jobs) == 1:  # one partition: routed to its replica
            return [
                (jobs[0], clock, digest)
                for clock, digest in await self._run("SELECT_DIGESTS", jobs[0], bucket, clocks)
            ]
        return await self._run("SELECT_DIGESTS_OF_JOBS", jobs, bucket, clocks)

    async def _max_clocks(self, job_ids: list[str]) -> dict[str, int]:
        found = await asyncio.gather(*(self._max_clock(job_id) for job_id in job_ids))
        return dict(zip(job_ids, found, strict=True))

    async def _max_clock(self, job_id: str) -> int:
        last_bucket = await self._run("SELECT_LAST_BUCKET", job_id)
        if not last_bucket:
            return -1
        last = await self._run("SELECT_LAST_CLOCK", job_id, last_bucket[0][0])
        return int(last[0][0]) if last else -1

    # -- step 3: writes ------------------------------------------------------------------

    async def _write(self, plans: list[JobPlan]) -> None:
        now = datetime.now(UTC)
        day = now.strftime("%Y-%m-%d")
        first: list[Write] = []  # bucket rows and new jobs' index rows
        beside: list[Write] = []  # the chunks, and existing jobs' updated_at refresh
        last: list[Write] = []  # new jobs' rows and final clocks, once their chunks are stored
        remember: dict[str, set[int]] = {}
        for plan in plans:
            job_id = plan.job_id
            if not plan.row.exists:  # a new job (or one deleted since): list it under today
                self.forget(job_id)
                first.append(partial(self._run, "INSERT_JOB_DAY", day, job_id, now))
                first.append(partial(self._run, "INSERT_DAY_OF_JOB", job_id, day))
            if not plan.row.exists or plan.new_final is not None:
                # listed for the sweep until archived; again with the final clock, so that a job
                # begun by a release without this list is found once it finishes
                first.append(partial(self._run, "INSERT_UNARCHIVED", cql.unarchived_shard(job_id), job_id))
            known = self._known_buckets.get(job_id, set())
            buckets = {cql.bucket_of(chunk.clock) for chunk in plan.to_write} - known
            first += [partial(self._run, "INSERT_BUCKET", job_id, bucket) for bucket in buckets]
            beside += [
                partial(self._statements.insert_chunks, rows) for rows in self._chunk_rows(plan.to_write, now)
            ]
            if plan.new_final is not None:
                last.append(partial(self._run, "SET_FINAL", plan.new_final, now, job_id))
            elif not plan.row.exists:
                last.append(partial(self._run, "TOUCH_JOB", now, job_id))
            elif _touch_due(plan.row.updated_at, now):
                beside.append(partial(self._run, "TOUCH_JOB", now, job_id))
            if buckets:
                remember[job_id] = known | buckets
        await asyncio.gather(*(write() for write in first))
        for job_id, buckets in remember.items():
            self._remember_buckets(job_id, buckets)
        await asyncio.gather(*(write() for write in beside))
        await asyncio.gather(*(write() for write in last))

    def _chunk_rows(self, chunks: list[Chunk], stored_at: datetime) -> list[list[tuple[Any, ...]]]:
        """The chunks' rows, one group per statement: per chunk partition, at most BATCH_BYTES."""
        return _partition_groups([self._chunk_row(chunk, stored_at) for chunk in chunks])

    def _chunk_row(self, chunk: Chunk, stored_at: datetime) -> tuple[Any, ...]:
        """INSERT_CHUNK's values, in its column order."""
        bucket = cql.bucket_of(chunk.clock)
        return (
            chunk.job_id,
            bucket,
            chunk.clock,
            chunk.size,
            chunk.digest,
            chunk.data,
            stored_at,
            self._ttl_s,
        )

    def _remember_buckets(self, job_id: str, buckets: set[int]) -> None:
        self._known_buckets[job_id] = buckets
        self._known_buckets.move_to_end(job_id)
        while len(self._known_buckets) > KNOWN_BUCKET_JOBS:
            self._known_buckets.popitem(last=False)


def _partition_groups(rows: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """INSERT_CHUNK rows grouped per chunk partition (bucket), each group at most BATCH_BYTES."""
    by_partition: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        by_partition[row[1]].append(row)
    groups: list[list[tuple[Any, ...]]] = []
    for partition in by_partition.values():
        group: list[tuple[Any, ...]] = []
        size = 0
        for row in partition:
            if group and size + row[3] > BATCH_BYTES:
                groups.append(group)
                group, size = [], 0
            group.append(row)
            size += row[3]
        groups.append(group)
    return groups


def _datetime(at: float | None) -> datetime | None:
    return datetime.fromtimestamp(at, UTC) if at is not None else None


def _touch_due(updated_at: datetime | None, now: datetime) -> bool:
    return updated_at is None or (now - updated_at.replace(tzinfo=UTC)).total_seconds() > TOUCH_EVERY_S

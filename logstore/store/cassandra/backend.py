"""The Cassandra LogStore.

Writes are in logstore/store/cassandra/writes.py (the statements per batch and the races each
guarantee tolerates), paged reads in pages.py. Every statement is prepared, marked idempotent
(but the lease transactions) and routed token-aware; retrying a batch after a StoreUnavailable is
safe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cassandra.cluster import Cluster, Session
from cassandra.query import PreparedStatement

from logstore.chunk import Chunk
from logstore.errors import ConfigError, JobNotFound
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
from logstore.store.cassandra import statements as cql
from logstore.store.cassandra.futures import execute
from logstore.store.cassandra.pages import read_pages
from logstore.store.cassandra.schema import schema_present
from logstore.store.cassandra.session import open_session
from logstore.store.cassandra.url import CassandraTarget, parse_cassandra_url
from logstore.store.cassandra.write_statements import AcsyllaStatements, DriverStatements
from logstore.store.cassandra.writes import ChunkWriter
from logstore.store.interface import (
    JobInfo,
    JobListing,
    JobProtection,
    JobState,
    JobStatus,
    LogStore,
    PutOutcome,
)
from logstore.store.rules import archived_job_info, chunked_job_info, derived_state

JOBS_PAGE = 2_000  # rows per read of a day's job list


class CassandraStore(LogStore):
    def __init__(self, cluster: Cluster, session: Session, target: CassandraTarget) -> None:
        self._cluster = cluster
        self._session = session
        self.target = target
        self._prepared: dict[str, PreparedStatement] = {}
        self._fast: AcsyllaStatements | None = None
        self._writer = ChunkWriter(
            DriverStatements(session, self._prepared, target.timeout_s), target.chunk_ttl_s
        )

    @classmethod
    async def connect(cls, url: str) -> CassandraStore:
        target = parse_cassandra_url(url)
        cluster, session = await open_session(target)
        store = cls(cluster, session, target)
        try:
            if not await asyncio.to_thread(schema_present, session, target.keyspace):
                raise ConfigError(
                    f"keyspace {target.keyspace!r} has no logstore schema: "
                    f"run `logstore schema apply --store {url}`"
                )
            await asyncio.to_thread(store._prepare_all)
            if target.driver == "acsylla":
                store._fast = await AcsyllaStatements.connect(target)
                store._writer = ChunkWriter(store._fast, target.chunk_ttl_s)
        except BaseException:
            await store.close()
            raise
        return store

    def _prepare_all(self) -> None:
        for name in (
            "INSERT_CHUNK", "INSERT_BUCKET", "TOUCH_JOB", "SET_FINAL", "SELECT_JOB",
            "SELECT_JOBS", "SELECT_BUCKETS", "SELECT_LAST_BUCKET", "SELECT_LAST_CLOCK", "SELECT_DIGESTS",
            "SELECT_DIGESTS_OF_JOBS", "SELECT_SIZES", "SELECT_TIMES", "READ_PAGE", "DELETE_BUCKET",
            "DELETE_CLOCKS", "DELETE_BUCKETS", "DELETE_JOB", "CLEAR_STATE", "SEAL", "UNSEAL",
            "INSERT_SEGMENT", "SELECT_SEGMENT_REFS", "SELECT_SEGMENT", "INSERT_ARCHIVE", "SELECT_ARCHIVE",
            "SET_STATE", "CLAIM", "RENEW", "RELEASE", "DELETE_SEGMENTS", "DELETE_ARCHIVE",
            "INSERT_JOB_DAY", "INSERT_DAY_OF_JOB", "SELECT_DAY_OF_JOB", "SELECT_JOBS_OF_DAY",
            "DELETE_JOB_DAY", "DELETE_DAY_OF_JOB", "INSERT_DICTIONARY", "SELECT_DICTIONARY",
            "SET_PRIVATE", "ADD_SECRETS", "SELECT_PROTECTION", "DELETE_PROTECTION",
            "INSERT_UNARCHIVED", "DELETE_UNARCHIVED", "SELECT_UNARCHIVED", "PING_WRITE",
        ):  # fmt: skip
            statement = self._session.prepare(getattr(cql, name).format(ks=self.target.keyspace))
            # every write here may be repeated safely, except the lease transactions
            statement.is_idempotent = name not in ("CLAIM", "RENEW", "RELEASE")
            self._prepared[name] = statement

    async def _run(self, name: str, *params: Any) -> list[Any]:
        return await self._execute(self._prepared[name], params)

    async def _execute(self, statement: Any, params: Any = None) -> list[Any]:
        return await execute(self._session, statement, params, self.target.timeout_s)

    # -- writes ---------------------------------------------------------------------------

    async def put_chunks(self, chunks: Sequence[Chunk]) -> list[PutOutcome]:
        return await self._writer.put_chunks(chunks)

    async def list_jobs(self, created_after: float, created_before: float, limit: int) -> list[JobListing]:
        """Day partitions from the newest down; each day's rows are few enough to sort here."""
        found: list[JobListing] = []
        day = datetime.fromtimestamp(min(created_before, time.time() + 86_400), UTC).date()
        first_day = datetime.fromtimestamp(max(created_after, 0), UTC).date()
        while day >= first_day and len(found) < limit:
            rows = await self._jobs_of_day(day.isoformat())
            listed = [
                JobListing(job_id, created.replace(tzinfo=UTC).timestamp())
                for job_id, created in rows
                if created is not None
            ]
            listed = [job for job in listed if created_after <= job.created_at < created_before]
            found += sorted(listed, key=lambda job: job.created_at, reverse=True)
            day -= timedelta(days=1)
        return found[:limit]

    async def _jobs_of_day(self, day: str) -> list[Any]:
        """Every (job_id, created_at) row of a day, page after page: a busy day holds more jobs
        than one page (the driver's first page alone is 5,000 rows)."""
        rows: list[Any] = []
        after = ""
        while True:
            page = await self._run("SELECT_JOBS_OF_DAY", day, after, JOBS_PAGE)
            rows += page
            if len(page) < JOBS_PAGE:
                return rows
            after = page[-1][0]

    # -- reads ----------------------------------------------------------------------------

    async def _read(self, name: str, *params: Any) -> list[Any]:
        """A statement of the download path (write_statements.READ_PATH): through acsylla when
        the store URL chose it, else the Python driver."""
        if self._fast is not None:
            return await self._fast.run(name, *params)
        return await self._run(name, *params)

    async def _buckets(self, job_id: str) -> list[int]:
        return [row[0] for row in await self._read("SELECT_BUCKETS", job_id)]

    async def read_chunks(
        self, job_id: str, from_clock: int = 0, to_clock: int | None = None
    ) -> AsyncIterator[tuple[int, bytes]]:
        upto = (2**63 - 1) if to_clock is None else to_clock
        first, last = cql.bucket_of(from_clock), cql.bucket_of(upto)
        buckets = [bucket for bucket in await self._buckets(job_id) if first <= bucket <= last]

        def read_page(bucket: int, clock: int, upto: int, limit: int) -> Awaitable[list[Any]]:
            return self._read("READ_PAGE", job_id, bucket, clock, upto, limit)

        async for row in read_pages(read_page, buckets, from_clock, upto):
            yield row

    async def get_job(self, job_id: str) -> JobInfo:
        job_rows, buckets = await asyncio.gather(self._run("SELECT_JOB", job_id), self._buckets(job_id))
        if not job_rows and not buckets:
            raise JobNotFound(f"job {job_id} not found")
        state, final_clock, updated_at = job_rows[0] if job_rows else (None, None, None)
        updated = updated_at.replace(tzinfo=UTC).timestamp() if updated_at else None
        if state is not None and JobState(state).archived:
            archive, refs = await asyncio.gather(self.archive_info(job_id), self.segment_refs(job_id))
            if archive is not None:
                return archived_job_info(job_id, archive, refs, None, updated)
        sizes = await self._sizes(job_id, buckets)
        return chunked_job_info(job_id, state, final_clock, sizes, None, updated)

    async def chunk_index(self, job_id: str) -> list[tuple[int, int]]:
        return await self._sizes(job_id, await self._buckets(job_id))

    async def chunk_times(self, job_id: str) -> list[tuple[int, float | None]]:
        pages = await asyncio.gather(
            *(self._run("SELECT_TIMES", job_id, b) for b in await self._buckets(job_id))
        )
        return [(int(clock), _unix(at)) for rows in pages for clock, at in rows]

    async def _sizes(self, job_id: str, buckets: list[int]) -> list[tuple[int, int]]:
        pages = await asyncio.gather(*(self._read("SELECT_SIZES", job_id, b) for b in buckets))
        return [(int(clock), int(size)) for rows in pages for clock, size in rows]

    async def job_status(self, job_id: str) -> JobStatus:
        rows = await self._run("SELECT_JOB", job_id)
        if not rows:
            raise JobNotFound(f"job {job_id} not found")
        state, final_clock, updated_at = rows[0]
        updated = updated_at.replace(tzinfo=UTC).timestamp() if updated_at else None
        return JobStatus(JobState(state) if state else derived_state(final_clock), final_clock, updated)

    # -- archives ---------------------------------------------------------------------------

    async def put_segment(self, job_id: str, segment: Segment) -> None:
        ref = segment.ref
        await self._run(
            "INSERT_SEGMENT",
            job_id,
            ref.index,
            ref.first_clock,
            pack_sizes(ref.sizes),
            ref.raw_offset,
            segment.frame,
            pack_times(ref.times),
        )

    async def segment_refs(self, job_id: str) -> list[SegmentRef]:
        rows = await self._run("SELECT_SEGMENT_REFS", job_id)
        return [
            SegmentRef(idx, first, unpack_sizes(sizes), offset, unpack_times(times))
            for idx, first, sizes, offset, times in rows
        ]

    async def read_segments(self, job_id: str, from_index: int = 0) -> AsyncIterator[Segment]:
        index = from_index
        while True:
            rows = await self._run("SELECT_SEGMENT", job_id, index)
            if not rows:
                return
            idx, first, sizes, offset, frame, times = rows[0]
            yield Segment(SegmentRef(idx, first, unpack_sizes(sizes), offset, unpack_times(times)), frame)
            index += 1

    async def mark_compacted(self, job_id: str, info: ArchiveInfo) -> bool:
        """Always marks: the seal (see `seal`) makes writers report chunks the archive may lack,
        and the compactor looks for them after this (compactor/archive_job.py)."""
        now = datetime.now(UTC)
        gaps = encode_missing(info.missing, info.abandoned)
        await self._run(
            "INSERT_ARCHIVE", job_id, info.sha256, info.raw_bytes, info.compressed_bytes, info.segments,
            info.chunks, info.final_clock, info.dictionary_id, gaps, now,
        )  # fmt: skip
        await self._run("SET_STATE", info.state_name, now, job_id)
        await self._run("DELETE_UNARCHIVED", cql.unarchived_shard(job_id), job_id)
        return True

    async def seal(self, job_id: str, owner: str, seconds: float) -> None:
        await self._run("SEAL", max(1, int(seconds)), owner, job_id)

    async def unseal(self, job_id: str) -> None:
        await self._run("UNSEAL", job_id)

    async def archive_info(self, job_id: str) -> ArchiveInfo | None:
        rows = await self._run("SELECT_ARCHIVE", job_id)
        if not rows:
            return None
        sha256, raw, compressed, segments, chunks, final_clock, dictionary_id, gaps = rows[0]
        missing, abandoned = decode_missing(gaps)
        return ArchiveInfo(
            sha256, raw, compressed, segments, chunks, final_clock, dictionary_id, missing, abandoned
        )

    async def delete_chunks(self, job_id: str, ranges: Sequence[tuple[int, int]]) -> None:
        """Range tombstones over the archived clocks. The job's bucket rows stay (a few bytes per
        256 clocks, removed with the job): a chunk stored meanwhile in one of them stays visible."""
        await asyncio.gather(
            *(
                self._run("DELETE_CLOCKS", job_id, bucket, low, high)
                for first, last in ranges
                for bucket, low, high in cql.bucket_ranges(first, last)
            )
        )

    async def restore_chunks(self, job_id: str, chunks: Sequence[tuple[int, bytes, float | None]]) -> None:
        await self._writer.restore(job_id, chunks)

    async def reopen_job(self, job_id: str) -> None:
        """The state first: from then on readers read the chunks, which `restore_chunks` put
        back; a reader still on the archive finds it gone and continues from the chunks."""
        await self.index_unarchived(job_id)  # listed again before it counts as unarchived
        await self._run("CLEAR_STATE", datetime.now(UTC), job_id)
        await self._run("DELETE_SEGMENTS", job_id)
        await self._run("DELETE_ARCHIVE", job_id)

    async def put_dictionary(self, dictionary_id: int, data: bytes) -> None:
        await self._run("INSERT_DICTIONARY", dictionary_id, data)

    async def get_dictionary(self, dictionary_id: int) -> bytes | None:
        rows = await self._run("SELECT_DICTIONARY", dictionary_id)
        return bytes(rows[0][0]) if rows else None

    async def claim(self, job_id: str, owner: str, lease_s: float) -> bool:
        ttl = max(1, int(lease_s))
        rows = await self._run("CLAIM", job_id, owner, ttl)
        if rows and rows[0][0]:
            return True
        rows = await self._run("RENEW", ttl, owner, job_id, owner)
        return bool(rows and rows[0][0])

    async def release(self, job_id: str, owner: str) -> None:
        await self._run("RELEASE", job_id, owner)

    async def delete_job(self, job_id: str) -> bool:
        """The log first (chunks, segments, archive), the job row next to last and the protection
        last: until the protection goes nothing of the job is readable without it, whichever
        statement fails. A failed delete is run again from the start; once the job row is gone a
        run only removes what is left (the protection)."""
        job_rows, buckets = await asyncio.gather(self._run("SELECT_JOB", job_id), self._buckets(job_id))
        self._writer.forget(job_id)
        if not job_rows and not buckets:
            await self._run("DELETE_PROTECTION", job_id)
            return False
        await asyncio.gather(*(self._run("DELETE_BUCKET", job_id, b) for b in buckets))
        await self._run("DELETE_BUCKETS", job_id)
        await self._run("DELETE_SEGMENTS", job_id)
        await self._run("DELETE_ARCHIVE", job_id)
        days = await self._run("SELECT_DAY_OF_JOB", job_id)
        for (day,) in days:
            await self._run("DELETE_JOB_DAY", day, job_id)
        await self._run("DELETE_DAY_OF_JOB", job_id)
        await self._run("DELETE_UNARCHIVED", cql.unarchived_shard(job_id), job_id)
        await self._run("DELETE_JOB", job_id)
        await self._run("DELETE_PROTECTION", job_id)
        return True

    async def unarchived_jobs(self, after: str | None, limit: int) -> list[str]:
        """In (shard, job_id) order: the shards one after another, each in job_id order; a page
        goes on into the next shards until it is full."""
        shard, cursor = (0, "") if after is None else (cql.unarchived_shard(after), after)
        found: list[str] = []
        while shard < cql.UNARCHIVED_SHARDS and len(found) < limit:
            wanted = limit - len(found)
            rows = await self._run("SELECT_UNARCHIVED", shard, cursor, wanted)
            found += [job_id for (job_id,) in rows]
            if len(rows) < wanted:
                shard, cursor = shard + 1, ""
        return found

    async def index_unarchived(self, job_id: str) -> None:
        """(Re)list a job in `unarchived_jobs`, for a reopen of an archived job: call it before
        the job's state leaves compacted/abandoned, so that the sweep never misses the job
        (a listed job that is still archived is only skipped). Idempotent."""
        await self._run("INSERT_UNARCHIVED", cql.unarchived_shard(job_id), job_id)

    async def set_private(self, job_id: str) -> None:
        await self._run("SET_PRIVATE", job_id)

    async def add_secrets(self, job_id: str, secrets: Sequence[bytes]) -> None:
        if secrets:
            await self._run("ADD_SECRETS", set(secrets), job_id)

    async def job_protection(self, job_id: str) -> JobProtection:
        rows = await self._run("SELECT_PROTECTION", job_id)
        if not rows:
            return JobProtection()
        private, secrets = rows[0]
        return JobProtection(bool(private), tuple(sorted(bytes(s) for s in secrets or ())))

    async def ping(self) -> None:
        """Write one row of the health table at the write consistency: a node that answers reads
        of system.local while too few replicas are up for a QUORUM write is not ready (ingesters
        pause on this, and /readyz answers 503)."""
        await self._run("PING_WRITE", datetime.now(UTC))

    async def close(self) -> None:
        if self._fast is not None:
            await self._fast.close()
        await asyncio.to_thread(self._cluster.shutdown)


def _unix(at: datetime | None) -> float | None:
    return at.replace(tzinfo=UTC).timestamp() if at is not None else None

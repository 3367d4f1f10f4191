"""The Cassandra LogStore.

Writes: per job of a batch, read the job row (final clock) and the digests already stored for the
batch's clocks (one IN query per partition), decide each chunk's outcome, then write the bucket
rows before the chunks (so a reader that sees a chunk also sees its bucket) and the job row last.
Every statement is prepared, marked idempotent and routed token-aware; retrying a batch after a
StoreUnavailable is safe.

Two writers racing with *different* bytes for the same clock can both pass the digest check; the
store then keeps the later write. Identical duplicates, the normal case of redelivery, are exact.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cassandra.cluster import Cluster, Session
from cassandra.query import PreparedStatement

from logstore.chunk import Chunk
from logstore.errors import ChunkConflict, ConfigError, JobNotFound
from logstore.store.archive import (
    ArchiveInfo,
    Segment,
    SegmentRef,
    decode_missing,
    encode_missing,
    pack_sizes,
    unpack_sizes,
)
from logstore.store.cassandra import statements as cql
from logstore.store.cassandra.futures import bridge
from logstore.store.cassandra.pages import read_pages
from logstore.store.cassandra.schema import schema_present
from logstore.store.cassandra.session import open_session
from logstore.store.cassandra.url import CassandraTarget, parse_cassandra_url
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
from logstore.store.rules import archived_job_info, derived_state, final_conflict, summarise_clocks

TOUCH_EVERY_S = 10.0  # refresh a job's updated_at at most this often (it says "still active")
KNOWN_BUCKET_JOBS = 20_000  # jobs whose written bucket rows this process remembers


class CassandraStore(LogStore):
    def __init__(self, cluster: Cluster, session: Session, target: CassandraTarget) -> None:
        self._cluster = cluster
        self._session = session
        self.target = target
        self._prepared: dict[str, PreparedStatement] = {}
        # Bucket rows this process has written, per job, so the next chunks in the same bucket
        # need no bucket write. Forgotten whenever the job's row is found missing (new or deleted).
        self._known_buckets: OrderedDict[str, set[int]] = OrderedDict()

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
        except BaseException:
            await store.close()
            raise
        return store

    def _prepare_all(self) -> None:
        for name in (
            "INSERT_CHUNK", "INSERT_BUCKET", "TOUCH_JOB", "SET_FINAL", "SELECT_JOB",
            "SELECT_BUCKETS", "SELECT_LAST_BUCKET", "SELECT_LAST_CLOCK", "SELECT_DIGESTS",
            "SELECT_SIZES", "READ_PAGE", "DELETE_BUCKET", "DELETE_BUCKETS", "DELETE_JOB",
            "INSERT_SEGMENT", "SELECT_SEGMENT_REFS", "SELECT_SEGMENT", "INSERT_ARCHIVE", "SELECT_ARCHIVE",
            "SET_STATE", "CLAIM", "RENEW", "RELEASE", "DELETE_SEGMENTS", "DELETE_ARCHIVE",
            "INSERT_JOB_DAY", "INSERT_DAY_OF_JOB", "SELECT_DAY_OF_JOB", "SELECT_JOBS_OF_DAY",
            "DELETE_JOB_DAY", "DELETE_DAY_OF_JOB", "INSERT_DICTIONARY", "SELECT_DICTIONARY",
            "SET_PRIVATE", "ADD_SECRETS", "SELECT_PROTECTION", "DELETE_PROTECTION",
        ):  # fmt: skip
            statement = self._session.prepare(getattr(cql, name).format(ks=self.target.keyspace))
            # every write here may be repeated safely, except the lease transactions
            statement.is_idempotent = name not in ("CLAIM", "RENEW", "RELEASE")
            self._prepared[name] = statement

    async def _run(self, name: str, *params: Any) -> list[Any]:
        return await bridge(self._session.execute_async(self._prepared[name], params))

    # -- writes ---------------------------------------------------------------------------

    async def put_chunks(self, chunks: Sequence[Chunk]) -> list[PutOutcome]:
        by_job: dict[str, list[int]] = defaultdict(list)
        for index, chunk in enumerate(chunks):
            by_job[chunk.job_id].append(index)
        outcomes: list[PutOutcome | None] = [None] * len(chunks)
        results = await asyncio.gather(
            *(self._put_job([chunks[i] for i in indexes]) for indexes in by_job.values())
        )
        for indexes, job_outcomes in zip(by_job.values(), results, strict=True):
            for index, outcome in zip(indexes, job_outcomes, strict=True):
                outcomes[index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    async def _put_job(self, chunks: list[Chunk]) -> list[PutOutcome]:
        job_id = chunks[0].job_id
        job_rows, stored = await asyncio.gather(
            self._run("SELECT_JOB", job_id), self._stored_digests(job_id, chunks)
        )
        final_clock: int | None = job_rows[0][1] if job_rows else None
        state: str | None = job_rows[0][0] if job_rows else None
        if not job_rows:  # a new job (or one deleted since): list it under today
            self._known_buckets.pop(job_id, None)
            await self._index_new_job(job_id)
        updated_at: datetime | None = job_rows[0][2] if job_rows else None
        max_clock = await self._max_clock(job_id) if any(c.final for c in chunks) else -1
        outcomes: list[PutOutcome] = []
        to_write: list[Chunk] = []
        new_final: int | None = None
        for chunk in chunks:
            known = stored.get(chunk.clock)
            if known is not None and known != chunk.digest:
                outcomes.append(
                    ChunkConflict(f"clock {chunk.clock} of job {job_id} is stored with other bytes")
                )
                continue
            conflict = final_conflict(chunk, final_clock, max_clock, state)
            if conflict is not None:
                outcomes.append(conflict)
                continue
            if chunk.final and final_clock is None:
                final_clock = new_final = chunk.clock
            if known is None:
                stored[chunk.clock] = chunk.digest  # a second copy in this batch is a duplicate
                to_write.append(chunk)
                max_clock = max(max_clock, chunk.clock)
                outcomes.append(PutResult.CREATED)
            else:
                outcomes.append(PutResult.DUPLICATE)
        await self._write(job_id, to_write, new_final, updated_at)
        return outcomes

    async def _stored_digests(self, job_id: str, chunks: list[Chunk]) -> dict[int, bytes]:
        by_bucket: dict[int, list[int]] = defaultdict(list)
        for chunk in chunks:
            by_bucket[cql.bucket_of(chunk.clock)].append(chunk.clock)
        pages = await asyncio.gather(
            *(self._run("SELECT_DIGESTS", job_id, b, sorted(set(c))) for b, c in by_bucket.items())
        )
        return {clock: digest for rows in pages for clock, digest in rows}

    async def _max_clock(self, job_id: str) -> int:
        last_bucket = await self._run("SELECT_LAST_BUCKET", job_id)
        if not last_bucket:
            return -1
        last = await self._run("SELECT_LAST_CLOCK", job_id, last_bucket[0][0])
        return int(last[0][0]) if last else -1

    async def _write(
        self, job_id: str, chunks: list[Chunk], new_final: int | None, updated_at: datetime | None
    ) -> None:
        now = datetime.now(UTC)
        known = self._known_buckets.get(job_id, set())
        buckets = {cql.bucket_of(chunk.clock) for chunk in chunks} - known
        await asyncio.gather(*(self._run("INSERT_BUCKET", job_id, b) for b in buckets))
        if buckets:
            self._remember_buckets(job_id, known | buckets)
        ttl = self.target.chunk_ttl_s
        await asyncio.gather(
            *(
                self._run(
                    "INSERT_CHUNK", job_id, cql.bucket_of(c.clock), c.clock, c.size, c.digest, c.data, ttl
                )
                for c in chunks
            )
        )
        if new_final is not None:
            await self._run("SET_FINAL", new_final, now, job_id)
        elif updated_at is None or (now - updated_at.replace(tzinfo=UTC)).total_seconds() > TOUCH_EVERY_S:
            await self._run("TOUCH_JOB", now, job_id)

    async def _index_new_job(self, job_id: str) -> None:
        now = datetime.now(UTC)
        day = now.strftime("%Y-%m-%d")
        await asyncio.gather(
            self._run("INSERT_JOB_DAY", day, job_id, now), self._run("INSERT_DAY_OF_JOB", job_id, day)
        )

    async def list_jobs(self, created_after: float, created_before: float, limit: int) -> list[JobListing]:
        """Day partitions from the newest down; each day's rows are few enough to sort here."""
        found: list[JobListing] = []
        day = datetime.fromtimestamp(min(created_before, time.time() + 86_400), UTC).date()
        first_day = datetime.fromtimestamp(max(created_after, 0), UTC).date()
        while day >= first_day and len(found) < limit:
            rows = await self._run("SELECT_JOBS_OF_DAY", day.isoformat())
            listed = [
                JobListing(job_id, created.replace(tzinfo=UTC).timestamp())
                for job_id, created in rows
                if created is not None
            ]
            listed = [job for job in listed if created_after <= job.created_at < created_before]
            found += sorted(listed, key=lambda job: job.created_at, reverse=True)
            day -= timedelta(days=1)
        return found[:limit]

    def _remember_buckets(self, job_id: str, buckets: set[int]) -> None:
        self._known_buckets[job_id] = buckets
        self._known_buckets.move_to_end(job_id)
        while len(self._known_buckets) > KNOWN_BUCKET_JOBS:
            self._known_buckets.popitem(last=False)

    # -- reads ----------------------------------------------------------------------------

    async def _buckets(self, job_id: str) -> list[int]:
        return [row[0] for row in await self._run("SELECT_BUCKETS", job_id)]

    async def read_chunks(
        self, job_id: str, from_clock: int = 0, to_clock: int | None = None
    ) -> AsyncIterator[tuple[int, bytes]]:
        upto = (2**63 - 1) if to_clock is None else to_clock
        first, last = cql.bucket_of(from_clock), cql.bucket_of(upto)
        buckets = [bucket for bucket in await self._buckets(job_id) if first <= bucket <= last]

        def read_page(bucket: int, clock: int, upto: int, limit: int) -> Awaitable[list[Any]]:
            return self._run("READ_PAGE", job_id, bucket, clock, upto, limit)

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
        total, count, missing, contiguous_clocks, contiguous_bytes = summarise_clocks(sizes, final_clock)
        return JobInfo(
            job_id=job_id,
            state=JobState(state) if state else derived_state(final_clock),
            bytes=total,
            chunks=count,
            final_clock=final_clock,
            missing=missing,
            contiguous_clocks=contiguous_clocks,
            contiguous_bytes=contiguous_bytes,
            updated_at=updated_at.replace(tzinfo=UTC).timestamp() if updated_at else None,
        )

    async def chunk_index(self, job_id: str) -> list[tuple[int, int]]:
        return await self._sizes(job_id, await self._buckets(job_id))

    async def _sizes(self, job_id: str, buckets: list[int]) -> list[tuple[int, int]]:
        pages = await asyncio.gather(*(self._run("SELECT_SIZES", job_id, b) for b in buckets))
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
        )

    async def segment_refs(self, job_id: str) -> list[SegmentRef]:
        rows = await self._run("SELECT_SEGMENT_REFS", job_id)
        return [SegmentRef(idx, first, unpack_sizes(sizes), offset) for idx, first, sizes, offset in rows]

    async def read_segments(self, job_id: str, from_index: int = 0) -> AsyncIterator[Segment]:
        index = from_index
        while True:
            rows = await self._run("SELECT_SEGMENT", job_id, index)
            if not rows:
                return
            idx, first, sizes, offset, frame = rows[0]
            yield Segment(SegmentRef(idx, first, unpack_sizes(sizes), offset), frame)
            index += 1

    async def mark_compacted(self, job_id: str, info: ArchiveInfo) -> None:
        now = datetime.now(UTC)
        gaps = encode_missing(info.missing, info.abandoned)
        await self._run(
            "INSERT_ARCHIVE", job_id, info.sha256, info.raw_bytes, info.compressed_bytes, info.segments,
            info.chunks, info.final_clock, info.dictionary_id, gaps, now,
        )  # fmt: skip
        await self._run("SET_STATE", info.state_name, now, job_id)

    async def archive_info(self, job_id: str) -> ArchiveInfo | None:
        rows = await self._run("SELECT_ARCHIVE", job_id)
        if not rows:
            return None
        sha256, raw, compressed, segments, chunks, final_clock, dictionary_id, gaps = rows[0]
        missing, abandoned = decode_missing(gaps)
        return ArchiveInfo(
            sha256, raw, compressed, segments, chunks, final_clock, dictionary_id, missing, abandoned
        )

    async def delete_chunks(self, job_id: str) -> None:
        buckets = await self._buckets(job_id)
        await asyncio.gather(*(self._run("DELETE_BUCKET", job_id, b) for b in buckets))
        await self._run("DELETE_BUCKETS", job_id)
        self._known_buckets.pop(job_id, None)

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
        job_rows, buckets = await asyncio.gather(self._run("SELECT_JOB", job_id), self._buckets(job_id))
        self._known_buckets.pop(job_id, None)
        await self._run("DELETE_PROTECTION", job_id)
        if not job_rows and not buckets:
            return False
        await asyncio.gather(*(self._run("DELETE_BUCKET", job_id, b) for b in buckets))
        await self._run("DELETE_BUCKETS", job_id)
        await self._run("DELETE_SEGMENTS", job_id)
        await self._run("DELETE_ARCHIVE", job_id)
        days = await self._run("SELECT_DAY_OF_JOB", job_id)
        for (day,) in days:
            await self._run("DELETE_JOB_DAY", day, job_id)
        await self._run("DELETE_DAY_OF_JOB", job_id)
        await self._run("DELETE_JOB", job_id)
        return True

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
        await bridge(self._session.execute_async("SELECT release_version FROM system.local"))

    async def close(self) -> None:
        await asyncio.to_thread(self._cluster.shutdown)

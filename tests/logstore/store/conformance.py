"""The one conformance suite every LogStore backend passes. A backend's test module subclasses
`StoreConformance` and provides a `store` fixture; nothing else."""

from __future__ import annotations

import asyncio
import os
import random
import time

import pytest

from benchmarks.harness.corpus import corpus_files, split
from logstore.chunk import Chunk
from logstore.errors import ChunkConflict, JobArchived, JobNotFound
from logstore.store import JobProtection, JobState, JobStatus, LogStore, PutResult
from logstore.store.archive import ArchiveInfo, Segment, SegmentRef


async def read_all(
    store: LogStore, job_id: str, from_clock: int = 0, to_clock: int | None = None
) -> list[tuple[int, bytes]]:
    return [item async for item in store.read_chunks(job_id, from_clock, to_clock)]


async def log_bytes(store: LogStore, job_id: str) -> bytes:
    return b"".join(data for _, data in await read_all(store, job_id))


async def unarchived(store: LogStore, page: int) -> list[str]:
    """Every job id `unarchived_jobs` lists, page after page of `page` ids."""
    listed: list[str] = []
    after: str | None = None
    while True:
        ids = await store.unarchived_jobs(after, page)
        assert len(ids) <= page
        listed += ids
        if len(ids) < page:
            return listed
        after = ids[-1]


def chunks_of(job_id: str, data: bytes, size: int) -> list[Chunk]:
    pieces = split(data, size)
    return [Chunk.create(job_id, i, p, final=i == len(pieces) - 1) for i, p in enumerate(pieces)]


async def mark_archived(store: LogStore, job_id: str, info: ArchiveInfo) -> None:
    """`mark_compacted` as the compactor calls it: once segments hold every stored chunk (one
    segment per run of clocks without a hole; the frames are not read here)."""
    runs: list[list[tuple[int, int]]] = []
    for clock, size in await store.chunk_index(job_id):
        if runs and runs[-1][-1][0] == clock - 1:
            runs[-1].append((clock, size))
        else:
            runs.append([(clock, size)])
    offset = 0
    for index, run in enumerate(runs):
        await store.put_segment(
            job_id, Segment(SegmentRef(index, run[0][0], tuple(s for _, s in run), offset), b"f")
        )
        offset += sum(s for _, s in run)
    assert await store.mark_compacted(job_id, info)


class StoreConformance:
    async def test_out_of_order_and_duplicated_writes_read_back_in_order(
        self, store: LogStore, job_id: str
    ) -> None:
        source = (corpus_files()[0].parent / "npm.sh.raw").read_bytes()[:200_000]
        chunks = chunks_of(job_id, source, 1600)
        shuffled = chunks + random.Random(7).sample(chunks, len(chunks) // 10)
        random.Random(8).shuffle(shuffled)
        # the final chunk may arrive early; the others still belong below it
        outcomes = []
        for start in range(0, len(shuffled), 40):
            outcomes += await store.put_chunks(shuffled[start : start + 40])
        assert outcomes.count(PutResult.CREATED) == len(chunks)
        assert outcomes.count(PutResult.DUPLICATE) == len(shuffled) - len(chunks)
        items = await read_all(store, job_id)
        assert [clock for clock, _ in items] == list(range(len(chunks)))
        assert b"".join(data for _, data in items) == source

    async def test_identical_duplicate_is_reported_and_changes_nothing(
        self, store: LogStore, job_id: str
    ) -> None:
        assert await store.put_chunk(Chunk.create(job_id, 0, b"hello\n")) is PutResult.CREATED
        assert await store.put_chunk(Chunk.create(job_id, 0, b"hello\n")) is PutResult.DUPLICATE
        info = await store.get_job(job_id)
        assert (info.chunks, info.bytes) == (1, 6)

    async def test_conflicting_duplicate_is_refused_and_first_bytes_kept(
        self, store: LogStore, job_id: str
    ) -> None:
        await store.put_chunk(Chunk.create(job_id, 0, b"first"))
        with pytest.raises(ChunkConflict):
            await store.put_chunk(Chunk.create(job_id, 0, b"second"))
        assert await read_all(store, job_id) == [(0, b"first")]
        assert (await store.get_job(job_id)).bytes == 5

    async def test_batch_reports_each_outcome_and_stores_the_good_ones(
        self, store: LogStore, job_id: str
    ) -> None:
        await store.put_chunk(Chunk.create(job_id, 1, b"one"))
        outcomes = await store.put_chunks(
            [
                Chunk.create(job_id, 0, b"zero"),
                Chunk.create(job_id, 1, b"uno"),
                Chunk.create(job_id, 1, b"one"),
                Chunk.create(job_id, 2, b"two"),
                Chunk.create(job_id, 2, b"two"),
            ]
        )
        assert outcomes[0] is PutResult.CREATED
        assert isinstance(outcomes[1], ChunkConflict)
        assert outcomes[2:] == [PutResult.DUPLICATE, PutResult.CREATED, PutResult.DUPLICATE]
        assert await log_bytes(store, job_id) == b"zeroonetwo"

    async def test_empty_chunks_and_non_utf8_bytes_round_trip(self, store: LogStore, job_id: str) -> None:
        pieces = [
            b"",
            b"\xff\xfe\x00binary\x80",
            b"",
            "caf\u00e9 \u2603\r\n".encode(),
            b"\x1b[31mred\x1b[0m",
            b"",
        ]
        await store.put_chunks([Chunk.create(job_id, i, p) for i, p in enumerate(pieces)])
        assert await read_all(store, job_id) == list(enumerate(pieces))
        info = await store.get_job(job_id)
        assert info.chunks == len(pieces)
        assert info.bytes == sum(map(len, pieces))

    async def test_every_corpus_file_round_trips_exactly(self, store: LogStore, job_id: str) -> None:
        for index, path in enumerate(corpus_files()):
            source = path.read_bytes()
            job = f"{job_id}-{index}"
            await store.put_chunks(chunks_of(job, source, 4096)[::-1])
            assert await log_bytes(store, job) == source, path.name

    async def test_fifty_megabyte_log_crossing_buckets(self, store: LogStore, job_id: str) -> None:
        source = os.urandom(50 * 1024 * 1024)
        chunks = chunks_of(job_id, source, 64 * 1024)  # 800 chunks: several buckets of 256 clocks
        for start in range(0, len(chunks), 32):
            await store.put_chunks(chunks[start : start + 32])
        expected = 0
        received = bytearray()
        async for clock, data in store.read_chunks(job_id):
            assert clock == expected
            expected += 1
            received += data
        assert received == source
        info = await store.get_job(job_id)
        assert (info.chunks, info.bytes, info.complete) == (800, len(source), True)
        tail = await read_all(store, job_id, 700)
        assert [c for c, _ in tail] == list(range(700, 800))

    async def test_sixteen_concurrent_writers(self, store: LogStore, job_id: str) -> None:
        jobs = {f"{job_id}-{w}": os.urandom(40_000 + w) for w in range(8)}
        chunks = [c for job, data in jobs.items() for c in chunks_of(job, data, 1000)]
        random.Random(3).shuffle(chunks)

        async def writer(part: list[Chunk]) -> None:
            for start in range(0, len(part), 5):
                await store.put_chunks(part[start : start + 5])

        # 16 writers over 8 jobs, each job's chunks spread over writers, every chunk sent twice
        doubled = chunks + chunks[::-1]
        await asyncio.gather(*(writer(doubled[w::16]) for w in range(16)))
        for job, data in jobs.items():
            assert await log_bytes(store, job) == data
            assert (await store.get_job(job)).complete

    async def test_reads_from_any_clock_and_up_to_any_clock(self, store: LogStore, job_id: str) -> None:
        pieces = [f"line {i}\n".encode() for i in range(600)]
        await store.put_chunks([Chunk.create(job_id, i, p) for i, p in enumerate(pieces)])
        for start in (0, 1, 255, 256, 257, 511, 599):
            assert await read_all(store, job_id, start) == list(enumerate(pieces))[start:]
        assert await read_all(store, job_id, 250, 260) == list(enumerate(pieces))[250:261]
        assert await read_all(store, job_id, 600) == []

    async def test_reads_skip_missing_clocks(self, store: LogStore, job_id: str) -> None:
        await store.put_chunks([Chunk.create(job_id, c, b"%d" % c) for c in (0, 1, 3, 700)])
        assert [c for c, _ in await read_all(store, job_id)] == [0, 1, 3, 700]

    async def test_metadata_of_a_running_job_with_gaps(self, store: LogStore, job_id: str) -> None:
        await store.put_chunks([Chunk.create(job_id, c, b"abc") for c in (0, 1, 4, 5, 9)])
        info = await store.get_job(job_id)
        assert info.state is JobState.RUNNING
        assert (info.chunks, info.bytes, info.final_clock) == (5, 15, None)
        assert info.missing == [(2, 3), (6, 8)]
        assert (info.contiguous_clocks, info.contiguous_bytes, info.complete) == (2, 6, False)

    async def test_final_chunk_finishes_the_job(self, store: LogStore, job_id: str) -> None:
        await store.put_chunk(Chunk.create(job_id, 3, b"end\n", final=True))
        info = await store.get_job(job_id)
        assert info.state is JobState.FINISHED
        assert info.final_clock == 3
        assert info.missing == [(0, 2)]
        assert not info.complete
        await store.put_chunks([Chunk.create(job_id, c, b"x") for c in (0, 1, 2)])
        info = await store.get_job(job_id)
        assert info.complete
        assert info.missing == []
        assert info.as_json()["state"] == "finished"

    async def test_chunk_index_lists_clocks_and_sizes_in_order(self, store: LogStore, job_id: str) -> None:
        assert await store.chunk_index(job_id) == []
        sizes = {0: 5, 3: 0, 300: 17, 2: 9}
        await store.put_chunks([Chunk.create(job_id, c, b"z" * n) for c, n in sizes.items()])
        assert await store.chunk_index(job_id) == sorted(sizes.items())

    async def test_job_status_is_the_record_without_a_scan(self, store: LogStore, job_id: str) -> None:
        with pytest.raises(JobNotFound):
            await store.job_status(job_id)
        await store.put_chunk(Chunk.create(job_id, 1, b"x"))
        assert await store.job_status(job_id) == JobStatus(JobState.RUNNING, None)
        await store.put_chunk(Chunk.create(job_id, 2, b"y", final=True))
        assert await store.job_status(job_id) == JobStatus(JobState.FINISHED, 2)

    async def test_chunks_after_the_final_clock_are_refused(self, store: LogStore, job_id: str) -> None:
        await store.put_chunk(Chunk.create(job_id, 1, b"b", final=True))
        with pytest.raises(ChunkConflict):
            await store.put_chunk(Chunk.create(job_id, 2, b"late"))
        with pytest.raises(ChunkConflict):
            await store.put_chunk(Chunk.create(job_id, 0, b"a", final=True))
        assert [c for c, _ in await read_all(store, job_id)] == [1]
        assert (await store.get_job(job_id)).final_clock == 1

    async def test_final_clock_below_a_stored_clock_is_refused(self, store: LogStore, job_id: str) -> None:
        await store.put_chunks([Chunk.create(job_id, c, b"x") for c in range(5)])
        with pytest.raises(ChunkConflict):
            await store.put_chunk(Chunk.create(job_id, 2, b"x", final=True))
        info = await store.get_job(job_id)
        assert info.final_clock is None
        assert info.state is JobState.RUNNING

    async def test_largest_clock_round_trips(self, store: LogStore, job_id: str) -> None:
        top = 2**63 - 1
        await store.put_chunks([Chunk.create(job_id, top, b"last"), Chunk.create(job_id, 0, b"first")])
        assert await read_all(store, job_id, top - 1) == [(top, b"last")]
        info = await store.get_job(job_id)
        assert info.missing == [(1, top - 1)]

    async def test_unknown_job_is_not_found(self, store: LogStore, job_id: str) -> None:
        with pytest.raises(JobNotFound):
            await store.get_job(job_id)
        assert await read_all(store, job_id) == []

    async def test_delete_removes_the_job_for_good(self, store: LogStore, job_id: str) -> None:
        await store.put_chunks(chunks_of(job_id, os.urandom(300_000), 1000))
        await store.put_chunk(Chunk.create(f"{job_id}-other", 0, b"keep"))
        assert await store.delete_job(job_id) is True
        with pytest.raises(JobNotFound):
            await store.get_job(job_id)
        assert await read_all(store, job_id) == []
        assert await store.delete_job(job_id) is False
        assert await log_bytes(store, f"{job_id}-other") == b"keep"

    async def test_archive_segments_record_and_chunk_removal(self, store: LogStore, job_id: str) -> None:
        await store.put_chunks([Chunk.create(job_id, c, b"x" * (c + 1), final=c == 4) for c in range(5)])
        segments = [
            Segment(SegmentRef(0, 0, (1, 2, 3), 0), b"frame-0"),
            Segment(SegmentRef(1, 3, (4, 5), 6), b"frame-1\x00\xff"),
        ]
        assert await store.segment_refs(job_id) == []
        for segment in segments:
            await store.put_segment(job_id, segment)
        await store.put_segment(job_id, segments[1])  # again: harmless
        assert await store.segment_refs(job_id) == [s.ref for s in segments]
        assert [s async for s in store.read_segments(job_id)] == segments
        assert [s async for s in store.read_segments(job_id, 1)] == segments[1:]
        assert await store.archive_info(job_id) is None
        info = ArchiveInfo("ab" * 32, 15, 16, 2, 5, 4)
        assert await store.mark_compacted(job_id, info)
        await store.delete_chunks(job_id, [(0, 4)])
        assert await store.archive_info(job_id) == info
        assert await read_all(store, job_id) == []
        assert await store.job_status(job_id) == JobStatus(JobState.COMPACTED, 4)
        meta = await store.get_job(job_id)
        assert (meta.state, meta.bytes, meta.chunks, meta.final_clock) == (JobState.COMPACTED, 15, 5, 4)
        assert (meta.complete, meta.contiguous_bytes, meta.missing) == (True, 15, [])
        assert await store.delete_job(job_id) is True
        assert await store.segment_refs(job_id) == []
        assert await store.archive_info(job_id) is None

    async def test_delete_chunks_removes_only_the_given_clocks(self, store: LogStore, job_id: str) -> None:
        clocks = [0, 1, 250, 255, 256, 257, 258, 600]  # across bucket edges (256 clocks each)
        await store.put_chunks([Chunk.create(job_id, c, b"c%d" % c) for c in clocks])
        await store.delete_chunks(job_id, [(1, 255), (257, 258)])
        assert await read_all(store, job_id) == [(c, b"c%d" % c) for c in (0, 256, 600)]
        assert [c for c, _ in await store.chunk_index(job_id)] == [0, 256, 600]
        await store.put_chunks([Chunk.create(job_id, 257, b"again")])  # a bucket that lost chunks
        assert [c for c, _ in await store.chunk_index(job_id)] == [0, 256, 257, 600]

    async def test_a_refused_mark_changes_nothing(self, store: LogStore, job_id: str) -> None:
        """A chunk stored that no segment holds (it came in while the archive was made): a backend
        may refuse the mark (SQLite does); then the job is not archived at all."""
        await store.put_chunks([Chunk.create(job_id, 0, b"zero"), Chunk.create(job_id, 1, b"one")])
        await store.put_segment(job_id, Segment(SegmentRef(0, 0, (4,), 0), b"frame"))
        if not await store.mark_compacted(job_id, ArchiveInfo("ab" * 32, 4, 5, 1, 1, 0, abandoned=True)):
            assert (await store.job_status(job_id)).state is JobState.RUNNING
            assert await store.archive_info(job_id) is None
        assert await read_all(store, job_id) == [(0, b"zero"), (1, b"one")]

    async def test_an_archived_job_refuses_chunks_saying_how_it_was_archived(
        self, store: LogStore, job_id: str
    ) -> None:
        abandoned, complete = f"{job_id}-a", f"{job_id}-c"
        await store.put_chunks(
            [Chunk.create(abandoned, 0, b"a"), Chunk.create(complete, 0, b"c", final=True)]
        )
        await mark_archived(store, abandoned, ArchiveInfo("ab" * 32, 1, 1, 1, 1, 0, abandoned=True))
        await mark_archived(store, complete, ArchiveInfo("cd" * 32, 1, 1, 1, 1, 0))
        late, after = await store.put_chunks(
            [Chunk.create(abandoned, 1, b"late"), Chunk.create(complete, 1, b"x")]
        )
        assert isinstance(late, JobArchived)
        assert (late.abandoned, late.stored) == (True, False)
        assert isinstance(after, JobArchived)
        assert (after.abandoned, after.stored) == (False, False)
        assert [c for c, _ in await store.chunk_index(abandoned)] == [0]  # nothing stored

    async def test_restored_chunks_and_reopen_make_an_archived_job_run_again(
        self, store: LogStore, job_id: str
    ) -> None:
        await store.put_chunks([Chunk.create(job_id, c, b"x%d" % c) for c in (0, 1, 3)])
        times = dict(await store.chunk_times(job_id))
        await store.put_segment(job_id, Segment(SegmentRef(0, 0, (2, 2), 0, (times[0], times[1])), b"f0"))
        await store.put_segment(job_id, Segment(SegmentRef(1, 3, (2,), 4, (times[3],)), b"f1"))
        assert await store.mark_compacted(
            job_id, ArchiveInfo("ab" * 32, 6, 4, 2, 3, 3, missing=[(2, 2)], abandoned=True)
        )
        await store.delete_chunks(job_id, [(0, 1), (3, 3)])
        assert await read_all(store, job_id) == []
        await store.restore_chunks(job_id, [(0, b"x0", times[0]), (1, b"x1", times[1])])
        await store.restore_chunks(job_id, [(1, b"x1", times[1]), (3, b"x3", None)])  # again: harmless
        assert (await store.job_status(job_id)).state is JobState.ABANDONED  # until reopen_job
        await store.reopen_job(job_id)
        status = await store.job_status(job_id)
        assert (status.state, status.final_clock) == (JobState.RUNNING, None)
        assert await store.archive_info(job_id) is None
        assert await store.segment_refs(job_id) == []
        assert await read_all(store, job_id) == [(0, b"x0"), (1, b"x1"), (3, b"x3")]
        assert (await store.chunk_times(job_id))[:2] == [(0, times[0]), (1, times[1])]
        assert await store.put_chunks(
            [Chunk.create(job_id, 2, b"x2"), Chunk.create(job_id, 4, b"end", final=True)]
        ) == [
            PutResult.CREATED,
            PutResult.CREATED,
        ]
        info = await store.get_job(job_id)
        assert (info.state, info.complete, info.bytes) == (JobState.FINISHED, True, 11)

    async def test_chunk_times_are_the_server_time_of_the_first_write(
        self, store: LogStore, job_id: str
    ) -> None:
        assert await store.chunk_times(job_id) == []
        before = time.time()
        await store.put_chunks([Chunk.create(job_id, 1, b"b"), Chunk.create(job_id, 0, b"a")])
        middle = time.time()
        await store.put_chunks([Chunk.create(job_id, 0, b"a"), Chunk.create(job_id, 2, b"c")])  # 0 again
        after = time.time()
        times = await store.chunk_times(job_id)
        assert [clock for clock, _ in times] == [0, 1, 2]
        first, second, third = (at for _, at in times)
        assert first is not None
        assert second is not None
        assert third is not None
        # Cassandra keeps milliseconds: allow that much on either side
        assert before - 0.001 <= first <= middle + 0.001
        assert before - 0.001 <= second <= middle + 0.001
        assert first - 0.001 <= third <= after + 0.001  # the duplicate of clock 0 changed nothing

    async def test_segment_times_round_trip_and_old_segments_have_none(
        self, store: LogStore, job_id: str
    ) -> None:
        timed = Segment(SegmentRef(0, 0, (1, 2), 0, (1_700_000_000.25, None)), b"frame-0")
        untimed = Segment(SegmentRef(1, 2, (3,), 3), b"frame-1")  # as archived before times were kept
        for segment in (timed, untimed):
            await store.put_segment(job_id, segment)
        assert await store.segment_refs(job_id) == [timed.ref, untimed.ref]
        assert [s async for s in store.read_segments(job_id)] == [timed, untimed]

    async def test_compaction_lease_has_one_holder(self, store: LogStore, job_id: str) -> None:
        assert await store.claim(job_id, "a", 30) is True
        assert await store.claim(job_id, "b", 30) is False
        assert await store.claim(job_id, "a", 30) is True  # renewal
        await store.release(job_id, "b")  # not the holder: no effect
        assert await store.claim(job_id, "b", 30) is False
        await store.release(job_id, "a")
        assert await store.claim(job_id, "b", 30) is True

    async def test_jobs_are_listed_newest_first_and_leave_the_list_when_deleted(
        self, store: LogStore, job_id: str
    ) -> None:
        started = time.time()
        for n in range(3):
            await store.put_chunk(Chunk.create(f"{job_id}-{n}", 0, b"x"))
            await asyncio.sleep(0.01)
        listed = await store.list_jobs(started - 1, time.time() + 1, 1000)
        mine = [job.job_id for job in listed if job.job_id.startswith(job_id)]
        assert mine == [f"{job_id}-2", f"{job_id}-1", f"{job_id}-0"]
        assert all(started - 1 <= job.created_at <= time.time() + 1 for job in listed)
        earlier = await store.list_jobs(started - 1, started - 0.5, 1000)  # other tests' jobs, not mine
        assert [job for job in earlier if job.job_id.startswith(job_id)] == []
        await store.delete_job(f"{job_id}-1")
        listed = await store.list_jobs(started - 1, time.time() + 1, 1000)
        assert [job.job_id for job in listed if job.job_id.startswith(job_id)] == [
            f"{job_id}-2",
            f"{job_id}-0",
        ]

    async def test_every_unarchived_job_is_listed_page_by_page_until_archived_or_deleted(
        self, store: LogStore, job_id: str
    ) -> None:
        jobs = [f"{job_id}-{n:02}" for n in range(10)]
        for n, job in enumerate(jobs):  # running and finished ones
            await store.put_chunks([Chunk.create(job, 0, b"x"), Chunk.create(job, 1, b"y", final=n % 2 == 0)])
        everything = await unarchived(store, page=5)  # with other tests' jobs: many pages
        assert len(everything) == len(set(everything)), "a job listed twice"
        assert sorted(job for job in everything if job.startswith(job_id)) == jobs
        assert await store.unarchived_jobs(everything[-1], 5) == []  # after the last page
        await mark_archived(store, jobs[0], ArchiveInfo("ab" * 32, 2, 3, 1, 2, 1))
        await mark_archived(store, jobs[1], ArchiveInfo("ab" * 32, 2, 3, 1, 2, 1, abandoned=True))
        assert await store.delete_job(jobs[2]) is True
        left = await unarchived(store, page=1000)
        assert sorted(job for job in left if job.startswith(job_id)) == jobs[3:]

    async def test_dictionaries_are_kept_by_id(self, store: LogStore) -> None:
        ident = random.randrange(1, 2**31)
        assert await store.get_dictionary(ident) is None
        await store.put_dictionary(ident, b"\x37\xa4\x30\xec dictionary bytes")
        await store.put_dictionary(ident, b"\x37\xa4\x30\xec dictionary bytes")
        assert await store.get_dictionary(ident) == b"\x37\xa4\x30\xec dictionary bytes"

    async def test_unknown_job_is_public_without_secrets(self, store: LogStore, job_id: str) -> None:
        assert await store.job_protection(job_id) == JobProtection(False, ())

    async def test_protection_is_kept_before_the_first_chunk_and_only_grows(
        self, store: LogStore, job_id: str
    ) -> None:
        await store.add_secrets(job_id, [b"s3cr3t", b"\x00binary\xff"])
        await store.set_private(job_id)
        await store.set_private(job_id)  # idempotent
        await store.add_secrets(job_id, [b"s3cr3t", b"another"])  # a repeat is kept once
        assert await store.job_protection(job_id) == JobProtection(
            True, (b"\x00binary\xff", b"another", b"s3cr3t")
        )
        assert await store.job_protection(f"{job_id}-other") == JobProtection()
        await store.put_chunk(Chunk.create(job_id, 0, b"has s3cr3t\n", final=True))
        assert await log_bytes(store, job_id) == b"has s3cr3t\n"  # stored raw; masked when read

    async def test_delete_removes_the_protection(self, store: LogStore, job_id: str) -> None:
        await store.set_private(job_id)
        await store.add_secrets(job_id, [b"token"])
        await store.put_chunk(Chunk.create(job_id, 0, b"x", final=True))
        assert await store.delete_job(job_id) is True
        assert await store.job_protection(job_id) == JobProtection()

    async def test_ping_answers(self, store: LogStore) -> None:
        await store.ping()

"""Archive one finished job: a pipeline with one outcome however many compactors try at once.

    claim -> wait for stragglers -> assemble in clock order -> compress into segments -> store
    -> verify by reading back -> mark compacted -> settle: remove the archived chunks -> release

Why readers never meet a missing log: segments are written and verified while the chunks are
still there and the job is not yet marked compacted, so every reader still reads chunks. Marking
compacted (one write) is the switch: readers that look after it read the archive, which is
already complete. Chunks go only after that. A reader that began on chunks and finds one gone
looks again, sees the job compacted and continues from the archive at the same byte offset
(stream/download.py, stream/tail.py). A compactor killed at any step leaves either no record
(the next one starts over; rewriting segments is harmless) or a compacted job whose chunks the
next attempt removes.

No acknowledged chunk is removed unless the archive holds it. A chunk may be stored after the
chunks were read (a hole filled late, a chunk of a job archived as abandoned):
- the job is sealed before its chunks are read (LogStore.seal), so a chunk stored from then on is
  reported as JobArchived(stored), never acknowledged as CREATED until the ingest service has
  seen the archive hold it or reopened the job (ingest/late_chunks.py);
- `mark_compacted` may refuse a stale archive (SQLite checks for such chunks in its transaction);
- settling removes only the clocks the archive's segments hold, and first looks for chunks
  outside them; finding one, it reopens the job (logstore/store/reopen.py) instead, and the job
  is archived again later with it.
A compactor killed at any step therefore leaves every acknowledged chunk readable: in the chunks
while the job is not marked, in the archive once it is.

When a job counts as over: its final chunk is stored (and every clock up to it, or
`abandon_after_s` passed without a write: the holes are not coming), or, without a final chunk,
`abandon_running_after_s` passed without a write. A late chunk reopens it either way.

One attempt at a time, within a process and across processes: see `ArchiveJob`. The lease is
renewed while the attempt runs and checked before it marks the job compacted and before it removes
chunks (compactor/lease.py); an attempt that lost it stops there.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import itertools
import logging
import time
from collections.abc import Callable

from compactor import metrics
from compactor.job_locks import JobLocks
from compactor.lease import Lease, LeaseLost
from compactor.segmenter import Segmenter
from logstore.config import CompactSettings
from logstore.errors import JobNotFound
from logstore.store import JobInfo, LogStore
from logstore.store.archive import ArchiveInfo, Segment, archived_ranges, decompress, holds
from logstore.store.reopen import reopen_held

log = logging.getLogger("logstore.compactor")

STRAGGLER_POLL_S = 0.5


class Outcome(enum.StrEnum):
    COMPACTED = "compacted"
    ALREADY = "already"  # compacted before (a repeated request)
    GONE = "gone"  # deleted meanwhile
    NOT_READY = "not_ready"  # no final chunk yet, or clocks still missing after the grace period
    BUSY = "busy"  # another compactor (or a delete, a reopen) holds the lease, or took it from us
    REOPENED = "reopened"  # a chunk came in while archiving: the job runs again, archived later


class VerificationFailed(Exception):
    pass


class ArchiveJob:
    """Archives jobs for one compactor process; `run` may be called for many jobs at once.

    Two requests for the same job (a duplicate final chunk makes two) must never run at once:
    the second would read chunks the first has already removed and fail ("assembled 0 chunks").
    Two guards, one per scope:

    - Within this process, a per-job lock: a second attempt waits for the first, then looks
      again, finds the job compacted and settles as ALREADY at once (no retry, no failure).
    - Across processes, the store lease, claimed under an owner unique to each attempt
      (`owner/attempt-number`). A lease held per process would let two attempts of one process
      both hold it (claiming again as the same owner only extends it); a per-attempt owner
      means the lease alone excludes every other attempt, even from a second `ArchiveJob` in
      the same process, which then gets BUSY and is retried. The lock only saves that retry.

    A waiting attempt keeps its compaction slot (CompactionWorker): duplicates are rare, and it
    ends as soon as the first attempt does.
    """

    def __init__(
        self,
        store: LogStore,
        settings: CompactSettings,
        owner: str,
        dictionary: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` gives the unix time against which idleness (`abandon_after_s`) is judged."""
        self.store = store
        self.settings = settings
        self.owner = owner
        self.dictionary = dictionary  # already kept in the store by the worker
        self.clock = clock
        self._locks = JobLocks()
        self._attempts = itertools.count(1)

    def attempts_of(self, job_id: str) -> int:
        """How many attempts of `job_id` are running or waiting here now."""
        return self._locks.users(job_id)

    async def run(self, job_id: str) -> Outcome:
        async with self._locks.hold(job_id):
            return await self._attempt(job_id, f"{self.owner}/{next(self._attempts)}")

    async def _attempt(self, job_id: str, owner: str) -> Outcome:
        try:
            status = await self.store.job_status(job_id)
        except JobNotFound:
            return Outcome.GONE
        if (
            not status.state.archived
            and status.final_clock is None
            and not self._idle(None, status.updated_at)
        ):
            return Outcome.NOT_READY  # still running
        lease = Lease(self.store, job_id, owner, self.settings.lease_s)
        if not await lease.claim():
            return Outcome.BUSY
        try:
            return await self._attempt_held(job_id, lease)
        except LeaseLost as exc:
            log.warning("compaction stopped: %s", exc, extra={"job_id": job_id})
            return Outcome.BUSY
        except JobNotFound:
            return Outcome.GONE  # deleted meanwhile
        finally:
            await lease.release()

    async def _attempt_held(self, job_id: str, lease: Lease) -> Outcome:
        if (await self.store.job_status(job_id)).state.archived:
            # compacted before: by another compactor between our look and our claim, or by one
            # that died before settling
            return await self._settle(job_id, lease, Outcome.ALREADY)
        metrics.IN_PROGRESS.inc()
        started = time.perf_counter()
        try:
            info = await self._wait_for_stragglers(job_id, lease)
            if not info.complete and not self._idle(info.final_clock, info.updated_at):
                log.info(
                    "job incomplete, waiting for its chunks",
                    extra={"job_id": job_id, "missing": info.missing},
                )
                return Outcome.NOT_READY
            await lease.keep(before_write=True)
            await lease.seal()  # from here on, a chunk stored is reported unless we read it
            info = await self.store.get_job(job_id)  # what is stored once sealed
            archive = await self._archive(job_id, info, await self._last_clock(job_id, info), lease)
            await self._verify(job_id, archive)
            await lease.keep(before_write=True)
            if not await self.store.mark_compacted(job_id, archive):
                log.info("chunks came in while archiving: archiving again", extra={"job_id": job_id})
                return Outcome.NOT_READY
            outcome = await self._settle(job_id, lease, Outcome.COMPACTED)
        finally:
            metrics.IN_PROGRESS.dec()
        if outcome is not Outcome.COMPACTED:
            return outcome
        metrics.DURATION.observe(time.perf_counter() - started)
        metrics.BYTES_IN.inc(archive.raw_bytes)
        metrics.BYTES_OUT.inc(archive.compressed_bytes)
        metrics.RATIO.observe(archive.raw_bytes / max(1, archive.compressed_bytes))
        log.info(
            "job compacted",
            extra={
                "job_id": job_id,
                "raw_bytes": archive.raw_bytes,
                "compressed_bytes": archive.compressed_bytes,
            },
        )
        return outcome

    async def _settle(self, job_id: str, lease: Lease, done: Outcome) -> Outcome:
        """Remove exactly the archived chunks; or, if a chunk the archive lacks is stored (it came
        in while archiving), reopen the job instead: nothing acknowledged is ever removed."""
        ranges = archived_ranges(await self.store.segment_refs(job_id))
        late = [clock for clock, _ in await self.store.chunk_index(job_id) if not holds(ranges, clock)]
        await lease.keep(before_write=True)
        if late:
            log.info(
                "chunks came in while archiving: reopening", extra={"job_id": job_id, "clocks": late[:10]}
            )
            await reopen_held(self.store, job_id)
            status = await self.store.job_status(job_id)
            # a finished job is retried (and archived with its late chunks); a running one waits for
            # its final chunk or the sweep, which request it again
            return Outcome.NOT_READY if status.final_clock is not None else Outcome.REOPENED
        await self.store.delete_chunks(job_id, ranges)
        return done

    async def _wait_for_stragglers(self, job_id: str, lease: Lease) -> JobInfo:
        deadline = time.monotonic() + self.settings.grace_s
        info = await self.store.get_job(job_id)
        while not info.complete and time.monotonic() < deadline:
            await asyncio.sleep(STRAGGLER_POLL_S)
            await lease.keep()
            info = await self.store.get_job(job_id)
        return info

    def _idle(self, final_clock: int | None, updated_at: float | None) -> bool:
        """No write for long enough that what is missing is not coming: `abandon_after_s` for
        the holes of a finished job, `abandon_running_after_s` for a job without a final chunk."""
        limit = (
            self.settings.abandon_after_s
            if final_clock is not None
            else self.settings.abandon_running_after_s
        )
        return self.clock() - (updated_at or 0.0) >= limit

    async def _last_clock(self, job_id: str, info: JobInfo) -> int:
        """The final clock, or for a job abandoned without one the last clock it received."""
        if info.final_clock is not None:
            return info.final_clock
        index = await self.store.chunk_index(job_id)
        return index[-1][0] if index else -1

    async def _archive(self, job_id: str, info: JobInfo, final_clock: int, lease: Lease) -> ArchiveInfo:
        """Assemble in clock order, compress segment by segment, store each as it is made.
        An abandoned job's holes are recorded, never glued over: no segment spans one."""
        segmenter = Segmenter(self.settings.zstd_level, self.settings.segment_bytes, self.dictionary)
        digest = hashlib.sha256()
        raw = compressed = segments = chunks = 0

        async def keep(done: list[Segment]) -> None:
            nonlocal compressed, segments
            for segment in done:
                await lease.keep()
                await self.store.put_segment(job_id, segment)
                compressed += len(segment.frame)
                segments += 1

        times = dict(await self.store.chunk_times(job_id))  # kept in the segments
        async for clock, data in self.store.read_chunks(job_id, 0, final_clock):
            digest.update(data)
            raw += len(data)
            chunks += 1
            await keep(segmenter.add(clock, data, times.get(clock)))
        await keep(segmenter.flush())
        if chunks != info.chunks:
            raise VerificationFailed(f"job {job_id}: assembled {chunks} chunks, expected {info.chunks}")
        return ArchiveInfo(
            digest.hexdigest(),
            raw,
            compressed,
            segments,
            chunks,
            final_clock,
            dictionary_id=segmenter.dictionary_id,
            missing=list(info.missing),
            abandoned=info.final_clock is None,
        )

    async def _verify(self, job_id: str, archive: ArchiveInfo) -> None:
        """Read the archive back, decompress every segment and compare digest and sizes."""
        digest = hashlib.sha256()
        raw = count = 0
        dictionary = self.dictionary if archive.dictionary_id else None
        async for segment in self.store.read_segments(job_id):
            data = decompress(segment, dictionary)
            digest.update(data)
            raw += len(data)
            count += 1
        if (digest.hexdigest(), raw, count) != (archive.sha256, archive.raw_bytes, archive.segments):
            metrics.FAILURES.labels("verify").inc()
            raise VerificationFailed(f"job {job_id}: archive read back differs from its source")

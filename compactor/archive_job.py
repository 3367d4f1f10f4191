"""Archive one finished job: a pipeline with one outcome however many compactors try at once.

    claim -> wait for stragglers -> assemble in clock order -> compress into segments -> store
    -> verify by reading back -> mark compacted -> remove chunks -> release

Why readers never meet a missing log: segments are written and verified while the chunks are
still there and the job is not yet marked compacted, so every reader still reads chunks. Marking
compacted (one write) is the switch: readers that look after it read the archive, which is
already complete. Chunks go only after that. A reader that began on chunks and finds one gone
looks again, sees the job compacted and continues from the archive at the same byte offset
(stream/download.py, stream/tail.py). A compactor killed at any step leaves either no record
(the next one starts over; rewriting segments is harmless) or a compacted job whose chunks the
next attempt removes.

One attempt at a time, within a process and across processes: see `ArchiveJob`.
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
from compactor.segmenter import Segmenter
from logstore.config import CompactSettings
from logstore.errors import JobNotFound
from logstore.store import JobInfo, LogStore
from logstore.store.archive import ArchiveInfo, Segment, decompress

log = logging.getLogger("logstore.compactor")

STRAGGLER_POLL_S = 0.5


class Outcome(enum.StrEnum):
    COMPACTED = "compacted"
    ALREADY = "already"  # compacted before (a repeated request)
    GONE = "gone"  # deleted meanwhile
    NOT_READY = "not_ready"  # no final chunk yet, or clocks still missing after the grace period
    BUSY = "busy"  # another compactor holds the lease


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
        if status.state.archived:
            await self.store.delete_chunks(job_id)  # a compactor may have died before this step
            return Outcome.ALREADY
        if status.final_clock is None and not self._idle(status.updated_at):
            return Outcome.NOT_READY  # still running
        if not await self.store.claim(job_id, owner, self.settings.lease_s):
            return Outcome.BUSY
        metrics.IN_PROGRESS.inc()
        started = time.perf_counter()
        try:
            if (await self.store.job_status(job_id)).state.archived:
                return Outcome.ALREADY  # another compactor finished it between our look and our claim
            info = await self._wait_for_stragglers(job_id)
            if not info.complete and not self._idle(info.updated_at):
                log.info(
                    "job incomplete, waiting for its chunks",
                    extra={"job_id": job_id, "missing": info.missing},
                )
                return Outcome.NOT_READY
            archive = await self._archive(job_id, info, await self._last_clock(job_id, info))
            await self._verify(job_id, archive)
            await self.store.mark_compacted(job_id, archive)
            await self.store.delete_chunks(job_id)
        finally:
            metrics.IN_PROGRESS.dec()
            await self.store.release(job_id, owner)
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
        return Outcome.COMPACTED

    async def _wait_for_stragglers(self, job_id: str) -> JobInfo:
        deadline = time.monotonic() + self.settings.grace_s
        info = await self.store.get_job(job_id)
        while not info.complete and time.monotonic() < deadline:
            await asyncio.sleep(STRAGGLER_POLL_S)
            info = await self.store.get_job(job_id)
        return info

    def _idle(self, updated_at: float | None) -> bool:
        """No write for abandon_after_s: what is missing (chunks, or the final one) is not coming."""
        return self.clock() - (updated_at or 0.0) >= self.settings.abandon_after_s

    async def _last_clock(self, job_id: str, info: JobInfo) -> int:
        """The final clock, or for a job abandoned without one the last clock it received."""
        if info.final_clock is not None:
            return info.final_clock
        index = await self.store.chunk_index(job_id)
        return index[-1][0] if index else -1

    async def _archive(self, job_id: str, info: JobInfo, final_clock: int) -> ArchiveInfo:
        """Assemble in clock order, compress segment by segment, store each as it is made.
        An abandoned job's holes are recorded, never glued over: no segment spans one."""
        segmenter = Segmenter(self.settings.zstd_level, self.settings.segment_bytes, self.dictionary)
        digest = hashlib.sha256()
        raw = compressed = segments = chunks = 0

        async def keep(done: list[Segment]) -> None:
            nonlocal compressed, segments
            for segment in done:
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

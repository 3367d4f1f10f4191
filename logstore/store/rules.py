"""Rules every backend applies the same way: the final-clock checks and job summaries."""

from __future__ import annotations

from collections.abc import Iterable

from logstore.chunk import Chunk
from logstore.errors import ChunkConflict, JobArchived
from logstore.store.archive import ArchiveInfo, SegmentRef
from logstore.store.interface import JobInfo, JobState


def final_conflict(
    chunk: Chunk, final_clock: int | None, max_clock: int, state: str | None = None
) -> ChunkConflict | None:
    """The final-clock rules of the LogStore contract, shared by the backends; an archived job
    takes no more chunks at all."""
    if state is not None and JobState(state).archived:
        return archived_conflict(chunk, state)
    if final_clock is not None and chunk.clock > final_clock:
        return ChunkConflict(
            f"clock {chunk.clock} of job {chunk.job_id} is after its final clock {final_clock}"
        )
    if chunk.final and final_clock is not None and chunk.clock != final_clock:
        return ChunkConflict(f"job {chunk.job_id} already ended at clock {final_clock}, not {chunk.clock}")
    if chunk.final and max_clock > chunk.clock:
        return ChunkConflict(
            f"final clock {chunk.clock} of job {chunk.job_id} is below stored clock {max_clock}"
        )
    return None


def archived_conflict(chunk: Chunk, state: str | None, stored: bool = False) -> JobArchived:
    """The answer for a chunk of an archived job (or, `stored`, one stored while its job was
    being archived: `state` None while the archive is being made): refused, with what the ingest
    service needs to decide whether the job reopens (logstore/store/reopen.py)."""
    abandoned = state is not None and JobState(state) is JobState.ABANDONED
    if stored:
        message = f"job {chunk.job_id} was being archived while clock {chunk.clock} was stored"
    else:
        message = f"job {chunk.job_id} is archived ({state}): it takes no more chunks"
    return JobArchived(message, abandoned=abandoned, stored=stored)


def derived_state(final_clock: int | None) -> JobState:
    return JobState.RUNNING if final_clock is None else JobState.FINISHED


def summarise_clocks(
    sizes: Iterable[tuple[int, int]], final_clock: int | None
) -> tuple[int, int, list[tuple[int, int]], int, int]:
    """From (clock, size) pairs in ascending clock order, compute
    (bytes, chunks, missing ranges, contiguous clocks, contiguous bytes).

    Missing ranges are the gaps below the highest clock seen, or below the final clock when known.
    """
    total = count = 0
    missing: list[tuple[int, int]] = []
    expected = 0
    contiguous_clocks = contiguous_bytes = 0
    in_prefix = True
    for clock, size in sizes:
        if clock > expected:
            missing.append((expected, clock - 1))
            in_prefix = False
        if in_prefix:
            contiguous_clocks = clock + 1
            contiguous_bytes += size
        total += size
        count += 1
        expected = clock + 1
    if final_clock is not None and final_clock >= expected:
        missing.append((expected, final_clock))
    return total, count, missing, contiguous_clocks, contiguous_bytes


def chunked_job_info(
    job_id: str,
    state: str | None,
    final_clock: int | None,
    sizes: Iterable[tuple[int, int]],
    created_at: float | None,
    updated_at: float | None,
) -> JobInfo:
    """A job's metadata from its stored chunks' (clock, size) pairs, ascending, and its job row
    (state as stored, None before any is; the final clock)."""
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
        created_at=created_at,
        updated_at=updated_at,
    )


def archived_job_info(
    job_id: str,
    archive: ArchiveInfo,
    refs: list[SegmentRef],
    created_at: float | None,
    updated_at: float | None,
) -> JobInfo:
    """A compacted job's metadata, from its archive record and segment index (chunks may be gone)."""
    contiguous = archive.prefix_clocks
    prefix_bytes = sum(
        size for ref in refs for clock, size in enumerate(ref.sizes, ref.first_clock) if clock < contiguous
    )
    return JobInfo(
        job_id=job_id,
        state=JobState(archive.state_name),
        bytes=archive.raw_bytes,
        chunks=archive.chunks,
        # abandoned without a final chunk: it has none (its archive keeps the last clock received);
        # the job may still reopen with the rest, so it is never complete
        final_clock=None if archive.abandoned else archive.final_clock,
        missing=list(archive.missing),
        contiguous_clocks=contiguous,
        contiguous_bytes=prefix_bytes,
        created_at=created_at,
        updated_at=updated_at,
    )

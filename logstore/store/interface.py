"""The LogStore interface: what every storage backend promises.

Contract, shared by every backend and checked by one conformance suite
(tests/logstore/store/conformance.py):

- Identity and idempotency: a chunk is identified by (job_id, clock). Writing the same bytes for
  a stored clock again is a no-op reported as DUPLICATE. Writing different bytes for a stored clock
  is refused with ChunkConflict and the stored bytes stay as they were.
- Final clock: a chunk written with final=True fixes the job's final clock F. Afterwards a chunk
  with a clock above F, or a second final chunk with another clock, is refused with ChunkConflict;
  so is a final chunk below a clock already stored.
- Durability: `put_chunks` returns only after every chunk it reports CREATED or DUPLICATE is
  durably stored (committed to SQLite's WAL; acknowledged by Cassandra at the configured
  consistency). A failure to reach the store raises StoreUnavailable and the caller must retry:
  the write may or may not have happened, and retrying is safe because writes are idempotent.
- Order: `read_chunks` yields stored chunks in ascending clock order from any starting clock,
  whatever order they were written in. It skips clocks that are not stored; readers that need a
  contiguous log stop at the first gap themselves (see `JobInfo.missing`).
- Not found: `get_job` raises JobNotFound for a job with no chunk and no record; `read_chunks`
  of such a job yields nothing.
- Deletion: `delete_job` removes the job's chunks, archive, record and protection for good.
- Unarchived jobs: every job with a record that is not archived (running or finished) is listed
  by `unarchived_jobs`, however old, from its first stored chunk until `mark_compacted` or
  `delete_job`; the compactor's sweep pages through it so no job's chunks reach their TTL
  unarchived.
- Protection: a job's private flag and registered secret values are kept apart from its chunks
  (they may be set before its first chunk); they only ever grow: a private job stays private,
  a registered secret stays registered. Chunks and archives always keep the raw bytes.
- Archives: the compactor seals the job, reads its chunks, writes segments, then
  `mark_compacted`, then `delete_chunks` of exactly the clocks the archive holds; a reader that
  finds a job compacted reads its segments (see compactor/archive_job.py for why that order
  leaves no moment in which a log cannot be read). An archived job refuses chunks with
  JobArchived; a chunk stored while its job is sealed or archived is reported as
  JobArchived(stored) instead of CREATED, so that no acknowledged chunk is left outside the
  archive. `restore_chunks` and `reopen_job` turn an archived job back into a running one
  (logstore/store/reopen.py).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from logstore.chunk import Chunk
from logstore.errors import ChunkConflict
from logstore.store.archive import ArchiveInfo, Segment, SegmentRef


class JobState(enum.StrEnum):
    RUNNING = "running"  # chunks arrive; no final chunk yet
    FINISHED = "finished"  # the final chunk is stored
    COMPACTED = "compacted"  # the log lives in an archive
    ABANDONED = "abandoned"  # archived with holes; `missing` lists what never arrived

    @property
    def archived(self) -> bool:
        """The log lives in an archive and takes no more chunks."""
        return self in (JobState.COMPACTED, JobState.ABANDONED)


class PutResult(enum.StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"


PutOutcome = PutResult | ChunkConflict
"""Per chunk of a batch: stored, already stored, or refused (and nothing changed)."""


@dataclass(frozen=True, slots=True)
class JobStatus:
    """The cheap part of a job's metadata: one row, no scan of its chunks."""

    state: JobState
    final_clock: int | None
    updated_at: float | None = field(default=None, compare=False)  # last write, unix seconds


@dataclass(frozen=True, slots=True)
class JobProtection:
    """Who may read a job and what its readers never see: `private` jobs need a read token or a
    signed URL; `secrets` are shown as `***` on every read path."""

    private: bool = False
    secrets: tuple[bytes, ...] = ()  # sorted, distinct


@dataclass(frozen=True, slots=True)
class JobListing:
    job_id: str
    created_at: float  # unix seconds of the job's first chunk (as first seen by a writer)


@dataclass(frozen=True, slots=True)
class JobInfo:
    """What the store knows about one job.

    `missing` lists inclusive clock ranges (a, b) below the highest known clock (the final clock
    once it is known) that are not stored. `contiguous_clocks` is how many clocks from 0 on are
    stored without a gap, and `contiguous_bytes` their size: the part of the log a reader may show.
    """

    job_id: str
    state: JobState
    bytes: int
    chunks: int
    final_clock: int | None
    missing: list[tuple[int, int]] = field(default_factory=list)
    contiguous_clocks: int = 0
    contiguous_bytes: int = 0
    created_at: float | None = None
    updated_at: float | None = None

    @property
    def complete(self) -> bool:
        """True when the final clock is known and every clock up to it is stored."""
        return self.final_clock is not None and self.contiguous_clocks == self.final_clock + 1

    def as_json(self) -> dict[str, object]:
        return {
            "job_id": self.job_id,
            "state": self.state.value,
            "bytes": self.bytes,
            "chunks": self.chunks,
            "final_clock": self.final_clock,
            "missing": [[a, b] for a, b in self.missing],
            "complete": self.complete,
            "contiguous_bytes": self.contiguous_bytes,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class LogStore(ABC):
    """An async store of job logs. See the module docstring for the contract."""

    @abstractmethod
    async def put_chunks(self, chunks: Sequence[Chunk]) -> list[PutOutcome]:
        """Store a batch; return one outcome per chunk, in the batch's order.

        A refused chunk (ChunkConflict in its slot) changes nothing; the others are stored.
        Raises StoreUnavailable when the store cannot be reached (retry the whole batch).
        """

    async def put_chunk(self, chunk: Chunk) -> PutResult:
        """Store one chunk; raise ChunkConflict if it is refused."""
        (outcome,) = await self.put_chunks([chunk])
        if isinstance(outcome, ChunkConflict):
            raise outcome
        return outcome

    @abstractmethod
    def read_chunks(
        self, job_id: str, from_clock: int = 0, to_clock: int | None = None
    ) -> AsyncIterator[tuple[int, bytes]]:
        """Yield (clock, bytes) of stored chunks with from_clock <= clock <= to_clock, ascending.

        Reads page by page: memory stays bounded whatever the log's size.
        """

    @abstractmethod
    async def get_job(self, job_id: str) -> JobInfo:
        """Return the job's metadata; raise JobNotFound for an unknown job."""

    @abstractmethod
    async def chunk_index(self, job_id: str) -> list[tuple[int, int]]:
        """(clock, size in bytes) of every stored chunk, ascending; empty for an unknown job.
        Lets readers map byte offsets to clocks without reading the data."""

    @abstractmethod
    async def chunk_times(self, job_id: str) -> list[tuple[int, float | None]]:
        """(clock, server time in unix seconds when the chunk was first stored) of every stored
        chunk, ascending; the time is None for chunks stored before times were kept. Empty for
        an unknown job, and once its chunks are deleted (the archive's segments keep the times)."""

    @abstractmethod
    async def job_status(self, job_id: str) -> JobStatus:
        """State and final clock from the job's record alone; raise JobNotFound for an unknown job."""

    # -- archives (written by the compactor) ------------------------------------------------

    @abstractmethod
    async def put_segment(self, job_id: str, segment: Segment) -> None:
        """Store one archive segment; writing the same segment again is harmless."""

    @abstractmethod
    async def segment_refs(self, job_id: str) -> list[SegmentRef]:
        """The job's archive segments without their bytes, in order; empty when there are none."""

    @abstractmethod
    def read_segments(self, job_id: str, from_index: int = 0) -> AsyncIterator[Segment]:
        """Segments from `from_index` on, in order, one at a time."""

    @abstractmethod
    async def mark_compacted(self, job_id: str, info: ArchiveInfo) -> bool:
        """Record the verified archive and set the job's state to compacted (abandoned when
        `info.missing` lists holes). From then on `get_job` answers from this record, so the
        chunks may go, and the job takes no more chunks (JobArchived). May return False, changing
        nothing, when it sees a chunk stored that no segment holds (SQLite checks in the same
        transaction); the archive is then stale and is made again."""

    @abstractmethod
    async def seal(self, job_id: str, owner: str, seconds: float) -> None:
        """Before the compactor reads the job's chunks, for `seconds` (renewed with its lease): a
        chunk stored while the job is sealed, or once it is archived, is reported as
        JobArchived(stored), never CREATED, because the archive being made may lack it. A backend
        whose `mark_compacted` checks for such chunks atomically may do nothing here."""

    @abstractmethod
    async def unseal(self, job_id: str) -> None:
        """End the seal early (the compaction finished or gave up)."""

    @abstractmethod
    async def archive_info(self, job_id: str) -> ArchiveInfo | None:
        """The archive record, or None while the job is not compacted."""

    @abstractmethod
    async def delete_chunks(self, job_id: str, ranges: Sequence[tuple[int, int]]) -> None:
        """Remove the job's chunks whose clocks lie in the inclusive `ranges` (after compaction:
        the clocks its archive holds); other chunks, its record and its archive stay."""

    @abstractmethod
    async def restore_chunks(self, job_id: str, chunks: Sequence[tuple[int, bytes, float | None]]) -> None:
        """Write archived (clock, bytes, first stored at) back as chunks (a chunk still stored at
        such a clock holds the same bytes: both were acknowledged); changes neither the job's
        state nor its archive (see `reopen_job`)."""

    @abstractmethod
    async def reopen_job(self, job_id: str) -> None:
        """Turn an archived job back into a running or finished one: its state is derived from
        its chunks and final clock again, and its archive (segments and record) is removed. Only
        after `restore_chunks` put back every chunk the archive held (logstore/store/reopen.py)."""

    @abstractmethod
    async def put_dictionary(self, dictionary_id: int, data: bytes) -> None:
        """Keep a zstd dictionary that archives refer to by id (idempotent)."""

    @abstractmethod
    async def get_dictionary(self, dictionary_id: int) -> bytes | None: ...

    @abstractmethod
    async def claim(self, job_id: str, owner: str, lease_s: float) -> bool:
        """Take the compaction lease of a job for `lease_s` seconds; False if someone else holds
        it. Holding it again (the same owner) extends it."""

    @abstractmethod
    async def release(self, job_id: str, owner: str) -> None:
        """Give the lease back (only if `owner` holds it)."""

    @abstractmethod
    async def list_jobs(self, created_after: float, created_before: float, limit: int) -> list[JobListing]:
        """Jobs whose first chunk came in [created_after, created_before), newest first, at most
        `limit` of them."""

    @abstractmethod
    async def unarchived_jobs(self, after: str | None, limit: int) -> list[str]:
        """Up to `limit` ids of jobs that are not archived (running or finished), however old,
        in the backend's own fixed order, starting after the id `after` (None: from the start).
        Pass the last id of a page to get the next; a page shorter than `limit` is the last.
        A job written or archived while pages are read may or may not be listed in this pass."""

    @abstractmethod
    async def delete_job(self, job_id: str) -> bool:
        """Remove the job's chunks and record; return False if there was nothing to remove."""

    # -- protection (private jobs, secret values) ---------------------------------------------

    @abstractmethod
    async def set_private(self, job_id: str) -> None:
        """Mark the job private, for good (idempotent; the job need not exist yet). Durable when
        it returns: a chunk stored after it is never readable without credentials."""

    @abstractmethod
    async def add_secrets(self, job_id: str, secrets: Sequence[bytes]) -> None:
        """Add secret values to the job's set (idempotent; the job need not exist yet)."""

    @abstractmethod
    async def job_protection(self, job_id: str) -> JobProtection:
        """The job's private flag and secrets; the default (public, none) for an unknown job."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers now (for readiness checks)."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads."""

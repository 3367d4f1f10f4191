"""The ingest service: validate chunks, keep the limits, store them through a circuit breaker,
then announce them and request compaction of finished jobs. Every entry point (HTTP, AMQP)
calls this; none of them repeats its rules."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence

from ingest import metrics
from ingest.coalesce import WriteCoalescer
from ingest.late_chunks import store_late_chunks, stored_meanwhile
from ingest.log_limit import LogSizeLimit
from ingest.protection import JobProtector
from ingest.resend import is_resend
from logstore.bus import Announcement, Bus
from logstore.chunk import Chunk, check_chunk_size
from logstore.config import LimitsSettings
from logstore.errors import ChunkConflict, InvalidInput, LogTooLarge
from logstore.resilience import BreakerState, CircuitBreaker
from logstore.store import LogStore, PutOutcome, PutResult

log = logging.getLogger("logstore.ingest")

Outcome = PutResult | InvalidInput
"""Per chunk of a batch: stored, already stored, or refused (nothing changed)."""


def _breaker_changed(state: BreakerState) -> None:
    metrics.BREAKER_STATE.set(state.value)
    metrics.BREAKER_TRANSITIONS.labels(state.name.lower()).inc()
    log.warning("store circuit breaker %s", state.name.lower())


class IngestService:
    def __init__(self, store: LogStore, bus: Bus, limits: LimitsSettings) -> None:
        self.store = store
        self.bus = bus
        self.limits = limits
        self.breaker = CircuitBreaker("store", on_change=_breaker_changed)
        self._log_limit = LogSizeLimit(store, limits.max_log_bytes)
        self.protector = JobProtector(store, self.breaker)
        self._coalescer = WriteCoalescer(self.ingest_batch)

    def validate(self, job_id: object, clock: object, data: bytes, final: bool) -> Chunk:
        """Build a Chunk or raise InvalidInput (bad id, bad clock, chunk too large)."""
        try:
            chunk = Chunk.create(job_id, clock, data, final)
            check_chunk_size(chunk.size, self.limits.max_chunk_bytes)
        except InvalidInput as exc:
            metrics.REJECTED.labels(exc.reason).inc()
            raise
        return chunk

    async def ingest(self, chunk: Chunk, private: bool = False) -> PutResult:
        """Store one validated chunk; raise InvalidInput (log too large, conflict),
        StoreUnavailable or BusUnavailable. When it raises InvalidInput the chunk was not stored.
        `private` marks the job private before the chunk is stored. Concurrent calls share store
        batches (ingest/coalesce.py)."""
        outcome = await self._coalescer.write(chunk, private)
        if isinstance(outcome, InvalidInput):
            raise outcome
        return outcome

    async def ingest_batch(
        self, chunks: Sequence[Chunk], private_jobs: Collection[str] = ()
    ) -> list[Outcome]:
        """Store a batch: one outcome per chunk, in order. Raises StoreUnavailable (nothing to
        acknowledge; retrying the batch is safe) or BusUnavailable (stored, but a compaction
        request was not confirmed; retrying is safe too). Jobs in `private_jobs` with a chunk to
        store are marked private before any chunk is stored. A chunk the store or the log limit
        refuses but that is an exact copy of what is stored, in chunks or in the job's archive, is
        a DUPLICATE (ingest/resend.py): a re-sent chunk is never a conflict. A late chunk of a job
        archived as abandoned reopens the job and is stored (ingest/late_chunks.py)."""
        done = await self._store(chunks, private_jobs)
        for index, outcome in enumerate(done):
            refused = isinstance(outcome, ChunkConflict | LogTooLarge) and not stored_meanwhile(outcome)
            if refused and await is_resend(self.store, chunks[index]):
                done[index] = PutResult.DUPLICATE
        await store_late_chunks(self.store, self.bus, self._store, chunks, done)
        await self._after_store(chunks, done)
        return done

    async def _store(self, chunks: Sequence[Chunk], private_jobs: Collection[str] = ()) -> list[Outcome]:
        """Admit each chunk under the log limit and store the admitted ones in one batch."""
        outcomes: list[Outcome | None] = [None] * len(chunks)
        accepted: list[int] = []
        results: list[PutOutcome] | None = None
        try:
            for index, chunk in enumerate(chunks):
                try:
                    await self._log_limit.admit(chunk)  # reserves its bytes until settled below
                except InvalidInput as exc:
                    outcomes[index] = exc
                    continue
                accepted.append(index)
            if accepted:
                batch = [chunks[i] for i in accepted]
                await self.protector.mark_private({c.job_id for c in batch if c.job_id in private_jobs})
                started = time.perf_counter()
                results = await self.breaker.call(lambda: self.store.put_chunks(batch))
                metrics.STORE_WRITE_SECONDS.observe(time.perf_counter() - started)
                metrics.BATCH_SIZE.observe(len(batch))
                for index, result in zip(accepted, results, strict=True):
                    outcomes[index] = result
        finally:  # whatever happened, every admitted chunk is counted (if stored) and unreserved
            for position, index in enumerate(accepted):
                created = results is not None and results[position] is PutResult.CREATED
                self._log_limit.settle(chunks[index], created)
        return [outcome for outcome in outcomes if outcome is not None]

    async def _after_store(self, chunks: Sequence[Chunk], outcomes: list[Outcome]) -> None:
        for chunk, outcome in zip(chunks, outcomes, strict=True):
            if isinstance(outcome, InvalidInput):
                metrics.REJECTED.labels(outcome.reason).inc()
                level = logging.WARNING if isinstance(outcome, ChunkConflict) else logging.INFO
                log.log(
                    level, "chunk refused: %s", outcome, extra={"job_id": chunk.job_id, "clock": chunk.clock}
                )
                continue
            metrics.CHUNKS.labels(outcome.value).inc()
            if outcome is PutResult.CREATED:
                metrics.BYTES.inc(chunk.size)
                announcement = Announcement(chunk.job_id, chunk.clock, chunk.data, chunk.final, time.time())
                await self.bus.announce(announcement)
            if chunk.final:  # a duplicate final too: its first request may not have been confirmed
                await self.bus.request_compaction(chunk.job_id)
                log.info("job finished", extra={"job_id": chunk.job_id, "final_clock": chunk.clock})

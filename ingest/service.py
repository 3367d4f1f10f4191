"""The ingest service: validate a chunk, keep the limits, store it. Every entry point (HTTP, AMQP)
calls this; none of them repeats its rules."""

from __future__ import annotations

import logging
import time

from ingest import metrics
from ingest.log_limit import LogSizeLimit
from logstore.chunk import Chunk, check_chunk_size
from logstore.config import LimitsSettings
from logstore.errors import InvalidInput
from logstore.store import LogStore, PutResult

log = logging.getLogger("logstore.ingest")


class IngestService:
    def __init__(self, store: LogStore, limits: LimitsSettings) -> None:
        self.store = store
        self.limits = limits
        self._log_limit = LogSizeLimit(store, limits.max_log_bytes)

    def validate(self, job_id: object, clock: object, data: bytes, final: bool) -> Chunk:
        """Build a Chunk or raise InvalidInput (bad id, bad clock, chunk too large)."""
        try:
            chunk = Chunk.create(job_id, clock, data, final)
            check_chunk_size(chunk.size, self.limits.max_chunk_bytes)
        except InvalidInput as exc:
            metrics.REJECTED.labels(exc.reason).inc()
            raise
        return chunk

    async def ingest(self, chunk: Chunk) -> PutResult:
        """Store one validated chunk. Raises InvalidInput (log too large, conflict) or
        StoreUnavailable; in either case nothing was stored by this call."""
        try:
            await self._log_limit.check(chunk)
            started = time.perf_counter()
            result = await self.store.put_chunk(chunk)
            metrics.STORE_WRITE_SECONDS.observe(time.perf_counter() - started)
        except InvalidInput as exc:
            metrics.REJECTED.labels(exc.reason).inc()
            log.info("chunk refused: %s", exc, extra={"job_id": chunk.job_id, "clock": chunk.clock})
            raise
        metrics.CHUNKS.labels(result.value).inc()
        if result is PutResult.CREATED:
            metrics.BYTES.inc(chunk.size)
            self._log_limit.stored(chunk)
        return result

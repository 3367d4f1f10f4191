"""Marking jobs private and registering their secrets, for every entry point (HTTP, AMQP).

Both only ever add: a private job stays private, a registered secret stays registered. A job is
marked private before the chunk that asked for it is stored, so no reader ever sees that chunk
without credentials. The flag is written for every store batch that asks for it (one idempotent
write per private job in the batch), never skipped from a memory of jobs marked before: a job
deleted meanwhile, by any process, has lost its flag, and a chunk of a job id used again would
otherwise be stored public.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from logstore.resilience import CircuitBreaker
from logstore.secret_values import check_total
from logstore.store import LogStore


class JobProtector:
    def __init__(self, store: LogStore, breaker: CircuitBreaker) -> None:
        self.store = store
        self.breaker = breaker

    async def mark_private(self, job_ids: Iterable[str]) -> None:
        """Durable when it returns, for every job of `job_ids` (written concurrently)."""
        await asyncio.gather(*(self._mark(job_id) for job_id in set(job_ids)))

    async def _mark(self, job_id: str) -> None:
        await self.breaker.call(lambda: self.store.set_private(job_id))

    async def add_secrets(self, job_id: str, secrets: list[bytes]) -> int:
        """Register the values (validated by logstore.secret_values); return how many the job has.
        Raises InvalidSecrets, with nothing stored, when that would pass the limit."""
        registered = (await self.breaker.call(lambda: self.store.job_protection(job_id))).secrets
        new = [value for value in secrets if value not in registered]
        check_total(len(registered), len(new))
        if new:
            await self.breaker.call(lambda: self.store.add_secrets(job_id, new))
        return len(registered) + len(new)

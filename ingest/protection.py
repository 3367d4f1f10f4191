"""Marking jobs private and registering their secrets, for every entry point (HTTP, AMQP).

Both only ever add: a private job stays private, a registered secret stays registered. A job is
marked private before the chunk that asked for it is stored, so no reader ever sees that chunk
without credentials. This process remembers the jobs it marked (bounded) to write each flag once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from logstore.resilience import CircuitBreaker
from logstore.secret_values import check_total
from logstore.store import LogStore

REMEMBERED_PRIVATE_JOBS = 10_000


class JobProtector:
    def __init__(self, store: LogStore, breaker: CircuitBreaker) -> None:
        self.store = store
        self.breaker = breaker
        self._marked: OrderedDict[str, None] = OrderedDict()

    async def mark_private(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            if job_id in self._marked:
                self._marked.move_to_end(job_id)
                continue
            await self.breaker.call(lambda job_id=job_id: self.store.set_private(job_id))  # type: ignore[misc]
            self._marked[job_id] = None
            if len(self._marked) > REMEMBERED_PRIVATE_JOBS:
                self._marked.popitem(last=False)

    async def add_secrets(self, job_id: str, secrets: list[bytes]) -> int:
        """Register the values (validated by logstore.secret_values); return how many the job has.
        Raises InvalidSecrets, with nothing stored, when that would pass the limit."""
        registered = (await self.breaker.call(lambda: self.store.job_protection(job_id))).secrets
        new = [value for value in secrets if value not in registered]
        check_total(len(registered), len(new))
        if new:
            await self.breaker.call(lambda: self.store.add_secrets(job_id, new))
        return len(registered) + len(new)

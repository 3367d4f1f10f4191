"""A compaction's hold on its job's lease: renewed while it runs, checked before every write that
counts, so that an attempt which outlived its lease stops instead of writing over whoever took the
job next (another compactor, a delete, a reopen)."""

from __future__ import annotations

import time
from collections.abc import Callable

from logstore.store import LogStore


class LeaseLost(Exception):
    """The lease ran out and someone else holds it now: the attempt stops before writing."""


class Lease:
    def __init__(
        self,
        store: LogStore,
        job_id: str,
        owner: str,
        lease_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.job_id = job_id
        self.owner = owner
        self.lease_s = lease_s
        self._monotonic = monotonic
        self._renewed_at = 0.0
        self._sealed = False

    async def claim(self) -> bool:
        """Take (or extend) the lease; False if someone else holds it."""
        started = self._monotonic()
        if not await self.store.claim(self.job_id, self.owner, self.lease_s):
            return False
        if self._sealed:
            await self.store.seal(self.job_id, self.owner, self.lease_s)
        self._renewed_at = started  # the lease runs from before the request, to be safe
        return True

    async def seal(self) -> None:
        """Seal the job (LogStore.seal) for as long as the lease is held; renewed with it."""
        await self.store.seal(self.job_id, self.owner, self.lease_s)
        self._sealed = True

    async def keep(self, before_write: bool = False) -> None:
        """Renew once a third of the lease has passed, and always `before_write`: after it, the
        lease has (nearly) a whole `lease_s` left for the write. Raises LeaseLost."""
        due = self._monotonic() - self._renewed_at >= self.lease_s / 3
        if (before_write or due) and not await self.claim():
            raise LeaseLost(f"job {self.job_id}: compaction lease lost to another owner")

    async def release(self) -> None:
        if self._sealed:
            await self.store.unseal(self.job_id)
        await self.store.release(self.job_id, self.owner)

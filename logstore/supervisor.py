"""Keep a background worker running: one that fails for a reason nobody foresaw is logged,
counted and started again after a backoff with jitter, while the process stays up and ready.

A worker that keeps failing at once backs off up to MAX_BACKOFF_S between starts; one that ran
for HEALTHY_S before failing starts over from the shortest wait. `stop()` is passed on to the
running worker (which drains) and ends the loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from prometheus_client import Counter

from logstore.process import Worker

log = logging.getLogger("logstore.supervisor")

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
HEALTHY_S = 60.0  # a worker that ran this long before failing was healthy: backoff starts over

RESTARTS = Counter(
    "logstore_worker_restarts_total",
    "Background workers restarted after failing for an unforeseen reason, by worker",
    ["worker"],
)


class Supervisor:
    def __init__(self, name: str, make: Callable[[], Worker]) -> None:
        self.name = name
        self._make = make
        self._current: Worker | None = None
        self._stopping = asyncio.Event()
        RESTARTS.labels(name)  # the series exists (at 0) before any restart

    async def run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._current = self._make()
            started = time.monotonic()
            try:
                await self._current.run()
                if self._stopping.is_set():
                    return
                log.error("%s stopped on its own: starting it again", self.name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("%s failed: %s", self.name, exc, exc_info=exc)
            if time.monotonic() - started >= HEALTHY_S:
                failures = 0
            delay = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2**failures) * random.uniform(0.5, 1.0)
            failures += 1
            RESTARTS.labels(self.name).inc()
            try:
                await asyncio.wait_for(self._stopping.wait(), delay)
            except TimeoutError:
                log.info("%s starting again after %.1f s", self.name, delay)

    def stop(self) -> None:
        self._stopping.set()
        if self._current is not None:
            self._current.stop()

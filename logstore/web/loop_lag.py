"""How late the event loop runs what is due: a task that asks to wake every INTERVAL_S and
records how much later than asked it woke (`logstore_event_loop_lag_seconds`). Anything that
holds the loop (a CPU-bound step, a blocking call) shows here, whatever request caused it: every
live frame, health check and response of the process waits that long too. Every role runs it
(logstore/web/app.py); the alert LogstoreEventLoopLagging watches its p99.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import Histogram

INTERVAL_S = 0.1

LAG = Histogram(
    "logstore_event_loop_lag_seconds",
    f"How much later than asked the event loop woke a task sleeping {INTERVAL_S} s",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


async def watch_loop_lag(interval_s: float = INTERVAL_S) -> None:
    """Run until cancelled."""
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(interval_s)
        LAG.observe(max(0.0, time.perf_counter() - asked - interval_s))

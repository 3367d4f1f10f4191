"""The event-loop lag histogram records a loop held by a blocking call, and every role's app
serves it on /metrics."""

from __future__ import annotations

import asyncio
import time

import httpx
from prometheus_client import REGISTRY

from logstore.web.app import create_app
from logstore.web.loop_lag import watch_loop_lag


def _late_wakes(at_least_s: float) -> float:
    """Wakes recorded as at least `at_least_s` late (the buckets are cumulative)."""
    total = REGISTRY.get_sample_value("logstore_event_loop_lag_seconds_count") or 0.0
    below = (
        REGISTRY.get_sample_value("logstore_event_loop_lag_seconds_bucket", {"le": str(at_least_s)}) or 0.0
    )
    return total - below


async def test_a_loop_held_for_200_ms_shows_as_a_late_wake() -> None:
    before = _late_wakes(0.1)
    watcher = asyncio.create_task(watch_loop_lag(interval_s=0.01))
    await asyncio.sleep(0.05)  # the watcher is asleep, due in at most 10 ms
    time.sleep(0.2)  # noqa: ASYNC251 - holds the loop on purpose: the watcher wakes >= 190 ms late
    await asyncio.sleep(0.05)
    watcher.cancel()
    assert _late_wakes(0.1) >= before + 1


async def test_the_app_runs_the_watcher_and_serves_it() -> None:
    async def ready() -> None:
        return None

    app = create_app([], ready)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            count = REGISTRY.get_sample_value("logstore_event_loop_lag_seconds_count") or 0.0
            await asyncio.sleep(0.35)  # three wakes at 100 ms, however late
            page = (await client.get("/metrics")).text
    assert "logstore_event_loop_lag_seconds_bucket" in page
    assert (REGISTRY.get_sample_value("logstore_event_loop_lag_seconds_count") or 0.0) > count

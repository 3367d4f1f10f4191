"""Waiting for a condition without counting on machine speed: poll often, give up late."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

import httpx

from benchmarks.harness.processes import metric_value

GENEROUS_S = 60.0  # a loaded 2-core machine running Cassandra, RabbitMQ and a browser at once


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]],
    within_s: float = GENEROUS_S,
    poll_s: float = 0.01,
    what: str = "condition",
) -> None:
    """Return once `condition()` holds (it may be a coroutine function); fail naming `what` if it
    still does not after `within_s` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within_s} s")
        await asyncio.sleep(poll_s)


async def metric(base: str, name: str) -> float:
    """The sum of the samples of `name` on the /metrics page of the process at `base`."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return metric_value((await client.get("/metrics")).text, name)


async def metric_reaches(base: str, name: str, value: float, within_s: float = GENEROUS_S) -> None:
    """Wait until the process at `base` reports exactly `value` for `name`."""

    async def reached() -> bool:
        return await metric(base, name) == value

    await eventually(reached, within_s, poll_s=0.05, what=f"{name} == {value} at {base}")

"""Waiting for a condition without counting on machine speed: poll often, give up late."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

GENEROUS_S = 60.0  # a loaded 2-core machine running Cassandra, RabbitMQ and a browser at once


async def eventually(condition: Callable[[], bool], within_s: float = GENEROUS_S) -> None:
    """Return once `condition()` holds; fail if it still does not after `within_s` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not reached within {within_s} s")
        await asyncio.sleep(0.01)

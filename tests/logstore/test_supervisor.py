"""The supervisor starts a failed worker again (logged, counted, with backoff) and stops it on
request; the process around it never sees the failure."""

from __future__ import annotations

import asyncio

import pytest

from logstore import supervisor
from logstore.supervisor import RESTARTS, Supervisor


class Flaky:
    """Fails on its first `failures` runs, then runs until stopped."""

    runs = 0
    started = asyncio.Event()

    def __init__(self, failures: int, running: asyncio.Event) -> None:
        self.failures = failures
        self.running = running
        self.stopped = asyncio.Event()

    async def run(self) -> None:
        Flaky.runs += 1
        Flaky.started.set()
        if Flaky.runs <= self.failures:
            raise RuntimeError(f"failure {Flaky.runs}")
        self.running.set()
        await self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()


async def test_a_failing_worker_is_restarted_then_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "FIRST_BACKOFF_S", 0.01)
    Flaky.runs = 0
    running = asyncio.Event()
    before = RESTARTS.labels("flaky")._value.get()
    supervised = Supervisor("flaky", lambda: Flaky(2, running))
    task = asyncio.create_task(supervised.run())
    await asyncio.wait_for(running.wait(), 30)
    assert Flaky.runs == 3
    assert RESTARTS.labels("flaky")._value.get() - before == 2
    supervised.stop()
    await asyncio.wait_for(task, 30)  # returns: the running worker was asked to stop


async def test_stop_during_the_backoff_ends_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "FIRST_BACKOFF_S", 3600.0)  # it would wait for an hour
    Flaky.runs = 0
    Flaky.started = asyncio.Event()
    supervised = Supervisor("always-failing", lambda: Flaky(10, asyncio.Event()))
    task = asyncio.create_task(supervised.run())
    await asyncio.wait_for(Flaky.started.wait(), 30)
    supervised.stop()
    await asyncio.wait_for(task, 30)
    assert Flaky.runs == 1

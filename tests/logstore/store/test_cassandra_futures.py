"""The bridge from the driver's callback futures to asyncio: a request the driver never answers
(neither rows, nor an error, nor its own timeout) still ends, as StoreUnavailable, so that nothing
awaiting the store (an ingester's batch, a viewer's catch-up) can wait for ever."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from logstore.errors import StoreUnavailable
from logstore.store.cassandra import futures

Callback = Callable[[Any], None]
Errback = Callable[[BaseException], None]


class SilentResponse:
    """A ResponseFuture the driver has lost: callbacks are registered and never called."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.registered = 0

    def add_callbacks(self, callback: Callback, errback: Errback) -> None:
        self.registered += 1


class AnsweringResponse(SilentResponse):
    def add_callbacks(self, callback: Callback, errback: Errback) -> None:
        callback([("row",)])


async def test_a_lost_request_fails_after_its_timeout_and_the_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(futures, "ABANDON_AFTER_S", 0.05)
    response = SilentResponse(timeout=0.05)
    pending = futures.bridge(response)
    assert response.registered == 1
    with pytest.raises(StoreUnavailable, match="no answer within"):
        await asyncio.wait_for(pending, 30)


async def test_an_answer_cancels_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(futures, "ABANDON_AFTER_S", 0.01)
    answered = futures.bridge(AnsweringResponse(timeout=0.01))
    assert await answered == [("row",)]
    await asyncio.sleep(0.2)  # the guard's time has passed: the answer stands, nothing raised
    assert answered.result() == [("row",)]


async def test_without_a_timeout_there_is_no_guard() -> None:
    pending = futures.bridge(SilentResponse(timeout=None))
    await asyncio.sleep(0.1)
    assert not pending.done()
    pending.cancel()

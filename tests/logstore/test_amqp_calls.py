"""Calls to the AMQP client whose channel dies under them: aio-pika 10 cancels a publish or an
ack in flight when its channel closes. The caller gets an error it handles, never a cancel it
would take for its own (which ended a fault-suite publisher during a RabbitMQ restart)."""

from __future__ import annotations

import asyncio

import pytest

from logstore.bus.amqp import settle, within


async def cancelled_by_the_library() -> None:
    raise asyncio.CancelledError  # what a publish on a closing channel does


async def test_within_turns_a_library_cancel_into_a_connection_error() -> None:
    with pytest.raises(ConnectionError, match="publish: cancelled by the AMQP client"):
        await within(cancelled_by_the_library(), 5, "publish")


async def test_within_still_times_out_and_answers() -> None:
    with pytest.raises(TimeoutError):
        await within(asyncio.sleep(60), 0.01, "slow")
    assert await within(asyncio.sleep(0, result=7), 5, "quick") == 7


async def test_settle_reports_a_library_cancel_as_not_delivered() -> None:
    assert await settle(cancelled_by_the_library(), "ack") is False
    assert await settle(asyncio.sleep(0), "ack") is True


async def test_settle_still_lets_its_caller_be_cancelled() -> None:
    started = asyncio.Event()

    async def waits() -> None:
        started.set()
        await asyncio.sleep(60)

    task = asyncio.create_task(settle(waits(), "ack"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

"""Bridge the driver's callback futures into asyncio futures without blocking the event loop.

The driver completes requests on its own I/O thread (libev); results are handed to the loop with
`call_soon_threadsafe`. Driver errors that mean "the store is not reachable right now" become
StoreUnavailable here, so nothing above this package sees a driver type.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from cassandra import DriverException, OperationTimedOut, ReadTimeout, Unavailable, WriteTimeout
from cassandra.cluster import NoHostAvailable, ResponseFuture, Session
from cassandra.connection import ConnectionBusy

from logstore.errors import StoreUnavailable

log = logging.getLogger("logstore.store")

UNAVAILABLE_ERRORS = (
    NoHostAvailable,
    OperationTimedOut,
    ReadTimeout,
    WriteTimeout,
    Unavailable,
    ConnectionError,
    OSError,
)


def _resolve(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _reject(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(as_store_error(exc))


def as_store_error(exc: BaseException) -> BaseException:
    if isinstance(exc, UNAVAILABLE_ERRORS):
        error = StoreUnavailable(f"cassandra: {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return error
    if isinstance(exc, DriverException):
        error = StoreUnavailable(f"cassandra: {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return error
    return exc


def connection_busy(exc: BaseException) -> bool:
    """The request was refused before it was sent: the connection's socket buffer was full (the
    driver refuses rather than queues). Nothing reached Cassandra, so sending again is safe."""
    cause = exc.__cause__ if isinstance(exc, StoreUnavailable) else exc
    return (
        isinstance(cause, NoHostAvailable)
        and bool(cause.errors)
        and all(isinstance(error, ConnectionBusy) for error in cause.errors.values())
    )


ABANDON_AFTER_S = 2.0  # past the request's own timeout: the driver has lost the request


def _abandon(fut: asyncio.Future[Any], timeout: float) -> None:
    if not fut.done():
        log.warning("cassandra: no answer nor timeout from the driver %.1f s after sending", timeout)
        fut.set_exception(StoreUnavailable(f"cassandra: no answer within {timeout:.1f} s"))


def bridge(response: ResponseFuture) -> asyncio.Future[list[Any]]:
    """An asyncio future for the first page of `response` (our queries always fit one page).

    The driver times requests out itself, but a request caught in a connection that dies (a frozen
    node's heartbeat failing) has been seen never to be answered nor timed out. Whoever awaits it
    (an ingester's batch, a viewer's catch-up) would then wait for ever with its work unacked, so
    the future is also failed here, ABANDON_AFTER_S past the request's own timeout."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[list[Any]] = loop.create_future()
    if response.timeout is not None:
        limit = response.timeout + ABANDON_AFTER_S
        guard = loop.call_later(limit, _abandon, fut, limit)
        fut.add_done_callback(lambda _: guard.cancel())
    response.add_callbacks(
        callback=lambda rows: loop.call_soon_threadsafe(_resolve, fut, rows),
        errback=lambda exc: loop.call_soon_threadsafe(_reject, fut, exc),
    )
    return fut


BUSY_RETRY_S = 0.005  # wait before sending again a request refused by a busy connection


async def execute(
    session: Session, statement: Any, params: Any = None, patience_s: float = 10.0
) -> list[Any]:
    """Run one statement: the rows of its first page. Sent again while the connection is busy (its
    socket buffer full under a burst of large chunks: the driver refuses such a request instead
    of queueing it, so nothing was sent), for at most `patience_s`."""
    waited = 0.0
    while True:
        try:
            return await bridge(session.execute_async(statement, params))
        except StoreUnavailable as exc:
            if not connection_busy(exc) or waited >= patience_s:
                raise
        await asyncio.sleep(BUSY_RETRY_S)
        waited += BUSY_RETRY_S

"""Bridge the driver's callback futures into asyncio futures without blocking the event loop.

The driver completes requests on its own I/O thread (libev); results are handed to the loop with
`call_soon_threadsafe`. Driver errors that mean "the store is not reachable right now" become
StoreUnavailable here, so nothing above this package sees a driver type.
"""

from __future__ import annotations

import asyncio
from typing import Any

from cassandra import DriverException, OperationTimedOut, ReadTimeout, Unavailable, WriteTimeout
from cassandra.cluster import NoHostAvailable, ResponseFuture
from cassandra.connection import ConnectionBusy

from logstore.errors import StoreUnavailable

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


def bridge(response: ResponseFuture) -> asyncio.Future[list[Any]]:
    """An asyncio future for the first page of `response` (our queries always fit one page)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[list[Any]] = loop.create_future()
    response.add_callbacks(
        callback=lambda rows: loop.call_soon_threadsafe(_resolve, fut, rows),
        errback=lambda exc: loop.call_soon_threadsafe(_reject, fut, exc),
    )
    return fut

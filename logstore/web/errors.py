"""Map the error hierarchy to HTTP statuses: the only place that knows both."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from logstore.errors import (
    BusUnavailable,
    ChunkConflict,
    ChunkTooLarge,
    ConfigError,
    InvalidInput,
    JobNotFound,
    LogstoreError,
    LogTooLarge,
    StoreUnavailable,
    UnsupportedEncoding,
)

RETRY_AFTER_S = 2

STATUS: list[tuple[type[LogstoreError], int]] = [
    (ChunkConflict, 409),
    (ChunkTooLarge, 413),
    (LogTooLarge, 413),
    (UnsupportedEncoding, 415),
    (InvalidInput, 422),
    (JobNotFound, 404),
    (StoreUnavailable, 503),
    (BusUnavailable, 503),
    (ConfigError, 500),
]


def status_of(exc: LogstoreError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_response(exc: LogstoreError) -> JSONResponse:
    status = status_of(exc)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return JSONResponse({"error": exc.reason, "message": str(exc)}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LogstoreError)
        return error_response(exc)

    app.add_exception_handler(LogstoreError, handle)

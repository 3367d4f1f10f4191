"""HTTP ingest: `PUT /v1/jobs/{job_id}/chunks/{clock}` and the batch `POST /v1/chunks`
(ingest/batch_http.py). Decode, call the service, encode. The common `PUT` is answered by
ingest/put_fast_path.py before the framework; this route serves the rest and documents the API."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ingest import metrics
from ingest.batch_http import add_batch_route
from ingest.bounded_body import read_bounded
from ingest.service import IngestService
from logstore.config import AuthSettings
from logstore.errors import ChunkTooLarge, UnsupportedEncoding
from logstore.store import PutResult
from logstore.web.auth import bearer_guard

PUT_PATH = "/v1/jobs/{job_id}/chunks/{clock}"


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with ChunkTooLarge as soon as it passes `limit` bytes."""

    def refuse(size: int | None) -> ChunkTooLarge:
        metrics.REJECTED.labels(ChunkTooLarge.reason).inc()
        if size is not None:
            return ChunkTooLarge(f"chunk of {size} bytes is over the limit of {limit} bytes")
        return ChunkTooLarge(f"chunk is over the limit of {limit} bytes")

    return await read_bounded(request, limit, refuse)


async def put_chunk(
    service: IngestService, request: Request, job_id: str, clock: str, final: bool, private: bool
) -> JSONResponse:
    """One `PUT`, after authentication: raises LogstoreError for what the error handlers answer."""
    # Validate id and clock before reading the body: 422 wins over 413.
    service.validate(job_id, clock, b"", final)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":  # a gzip body would be stored as gzip bytes: refuse it instead
        raise UnsupportedEncoding(f"Content-Encoding {encoding[:40]!r}: send chunks uncompressed")
    data = await read_body(request, service.limits.max_chunk_bytes)
    chunk = service.validate(job_id, clock, data, final)
    result = await service.ingest(chunk, private)
    status = 201 if result is PutResult.CREATED else 200
    return JSONResponse(
        {"job_id": chunk.job_id, "clock": chunk.clock, "result": result.value}, status_code=status
    )


def ingest_router(service: IngestService, auth: AuthSettings) -> APIRouter:
    router = APIRouter(dependencies=[Depends(bearer_guard(auth.write_token, "writing"))])

    @router.put(PUT_PATH, status_code=201)
    async def put_chunk_route(
        job_id: str, clock: str, request: Request, final: bool = False, private: bool = False
    ) -> JSONResponse:
        return await put_chunk(service, request, job_id, clock, final, private)

    add_batch_route(router, service)
    return router

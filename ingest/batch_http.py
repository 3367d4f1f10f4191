"""HTTP batch ingest: `POST /v1/chunks`, several chunks of several jobs in one request (the body's
format is in logstore/batch_body.py). One result per chunk, in request order, each with the
status a single `PUT` of that chunk would get; the request itself answers 200 once every chunk
has its result. Whole-request answers: 422 `invalid_batch` for a body whose framing is not whole,
413 over BATCH_MAX_BYTES, 415 for a Content-Encoding, 503 when the store is down (nothing is
acknowledged; sending the same request again is safe, chunks already stored come back 200)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ingest.bounded_body import read_bounded
from ingest.service import IngestService, Outcome
from logstore.batch_body import MEDIA_TYPE, decode_batch
from logstore.chunk import Chunk
from logstore.errors import ChunkTooLarge, InvalidInput, UnsupportedEncoding
from logstore.store import PutResult
from logstore.web.errors import status_of

BATCH_MAX_BYTES = 16 * 1024 * 1024

OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "entries back to back: u8 flags (1 final, 2 private), u8 id length, id, "
        "u64 clock, u32 data length, data (big-endian); see README",
        "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    },
    "responses": {
        "200": {
            "description": "one result per chunk, in request order",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "results": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "status": {"type": "integer"},
                                        "job_id": {"type": "string"},
                                        "clock": {"type": "integer"},
                                        "result": {"type": "string", "enum": ["created", "duplicate"]},
                                        "error": {"type": "string"},
                                        "message": {"type": "string"},
                                    },
                                    "required": ["status"],
                                },
                            }
                        },
                    }
                }
            },
        }
    },
}


async def read_batch_body(request: Request) -> bytes:
    def refuse(size: int | None) -> ChunkTooLarge:
        if size is not None:
            return ChunkTooLarge(f"batch body of {size} bytes is over the limit of {BATCH_MAX_BYTES}")
        return ChunkTooLarge(f"batch body is over the limit of {BATCH_MAX_BYTES} bytes")

    return await read_bounded(request, BATCH_MAX_BYTES, refuse)


def result_of(outcome: Outcome | InvalidInput, chunk: Chunk | None) -> dict[str, Any]:
    named = {"job_id": chunk.job_id, "clock": chunk.clock} if chunk is not None else {}
    if isinstance(outcome, PutResult):
        return {"status": 201 if outcome is PutResult.CREATED else 200, **named, "result": outcome.value}
    return {"status": status_of(outcome), **named, "error": outcome.reason, "message": str(outcome)}


def add_batch_route(router: APIRouter, service: IngestService) -> None:
    @router.post("/v1/chunks", openapi_extra=OPENAPI_BODY)
    async def post_chunks(request: Request) -> JSONResponse:
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding != "identity":
            raise UnsupportedEncoding(f"Content-Encoding {encoding[:40]!r}: send chunks uncompressed")
        entries = decode_batch(await read_batch_body(request))
        results: list[dict[str, Any] | None] = [None] * len(entries)
        valid: list[tuple[int, Chunk]] = []
        for index, entry in enumerate(entries):
            try:
                valid.append((index, service.validate(entry.job_id, entry.clock, entry.data, entry.final)))
            except InvalidInput as exc:
                results[index] = result_of(exc, None)
        private = {entries[i].job_id for i, _ in valid if entries[i].private}
        outcomes = await service.ingest_batch([chunk for _, chunk in valid], private)
        for (index, chunk), outcome in zip(valid, outcomes, strict=True):
            results[index] = result_of(outcome, chunk)
        return JSONResponse({"results": results})

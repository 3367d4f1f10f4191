"""HTTP reads: `GET /v1/jobs/{job_id}` (metadata) and `GET /v1/jobs/{job_id}/log` (the bytes, with
`Range` and `?offset=`). Who may read is decided in stream/access.py; a job with secrets is
served masked (stream/masked_log.py), and its offsets, ranges and ETag refer to the masked log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from logstore.chunk import validate_job_id
from logstore.store import JobProtection, LogStore
from stream.access import ReadAccess, require_read
from stream.byte_range import Unsatisfiable, parse_range
from stream.download import LogView, archive_frames, open_view, read_bytes
from stream.masked_index import masked_slice
from stream.masked_log import measure

MEDIA_TYPE = "text/plain; charset=utf-8"
Body = Callable[[int, int], AsyncIterator[bytes]]  # bytes first..last (inclusive)


def stream_router(store: LogStore, access: ReadAccess) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/jobs/{job_id}")
    async def job_metadata(job_id: str, request: Request) -> JSONResponse:
        protection = await require_read(access, request, validate_job_id(job_id))
        info = await store.get_job(job_id)
        body = info.as_json()
        if protection.secrets:  # raw sizes minus the masked log's length would tell the secrets' length
            body["bytes"] = body["contiguous_bytes"] = None
        return JSONResponse(body, headers=cache_control(protection))

    @router.get("/v1/jobs/{job_id}/log")
    async def job_log(job_id: str, request: Request, offset: int | None = None) -> Response:
        protection = await require_read(access, request, validate_job_id(job_id))
        view = await open_view(store, job_id)
        if protection.secrets:
            response = await _masked_log(store, view, protection.secrets, request, offset)
            response.headers.update(cache_control(protection))
            return response
        headers = _headers(view, view.length) | cache_control(protection)
        if view.archive is not None:  # a compacted log never changes again
            etag = f'"{view.archive.sha256}"'
            headers["ETag"] = etag
            headers["Vary"] = "Accept-Encoding"
            if etag in _etags(request.headers.get("if-none-match")):
                return Response(status_code=304, headers=headers)
            if offset is None and "range" not in request.headers and _accepts_zstd(request, view):
                headers["Content-Encoding"] = "zstd"
                headers["Content-Length"] = str(view.archive.compressed_bytes)
                return StreamingResponse(
                    archive_frames(store, view.job_id), media_type=MEDIA_TYPE, headers=headers
                )
        return _serve(request, offset, view.length, headers, lambda a, b: read_bytes(store, view, a, b))

    return router


async def _masked_log(
    store: LogStore, view: LogView, secrets: Sequence[bytes], request: Request, offset: int | None
) -> Response:
    """The masked log, always identity (stored zstd frames hold the raw bytes): measured by its
    index, then sent from the index's nearest checkpoint. Its ETag is the masked log's sha256,
    never the archive's."""
    index, length, digest = await measure(store, view, secrets)
    headers = _headers(view, length)
    if view.archive is not None:
        etag = f'"masked-{digest}"'
        headers["ETag"] = etag
        if etag in _etags(request.headers.get("if-none-match")):
            return Response(status_code=304, headers=headers)

    def body(first: int, last: int) -> AsyncIterator[bytes]:
        return masked_slice(store, view, index, first, last)

    return _serve(request, offset, length, headers, body)


def cache_control(protection: JobProtection) -> dict[str, str]:
    """A private or masked job's answers are for this client only: no shared cache (a proxy, a
    CDN) may keep them, and nothing keeps them on disk."""
    return {"Cache-Control": "private, no-store"} if protection.private or protection.secrets else {}


def _headers(view: LogView, length: int) -> dict[str, str]:
    return {
        "Log-Complete": "true" if view.complete else "false",
        "Log-Next-Offset": str(length),
        "Accept-Ranges": "bytes",
    }


def _serve(
    request: Request, offset: int | None, length: int, headers: dict[str, str], body: Body
) -> Response:
    """The whole log, everything from `?offset=`, or one `Range`, of a log of `length` bytes."""
    if offset is not None:  # progressive reads: everything from `offset` on
        if offset < 0 or offset > length:
            return _unsatisfiable(length, headers)
        headers["Content-Length"] = str(length - offset)
        return StreamingResponse(body(offset, length - 1), media_type=MEDIA_TYPE, headers=headers)
    try:
        wanted = parse_range(request.headers.get("range"), length)
    except Unsatisfiable:
        return _unsatisfiable(length, headers)
    if wanted is None:
        headers["Content-Length"] = str(length)
        return StreamingResponse(body(0, length - 1), media_type=MEDIA_TYPE, headers=headers)
    first, last = wanted
    headers["Content-Range"] = f"bytes {first}-{last}/{length}"
    headers["Content-Length"] = str(last - first + 1)
    return StreamingResponse(body(first, last), status_code=206, media_type=MEDIA_TYPE, headers=headers)


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def _accepts_zstd(request: Request, view: LogView) -> bool:
    """Serve the stored frames as they are: only a plain (dictionary-free) archive of a complete
    log qualifies, and only for clients that ask for zstd."""
    assert view.archive is not None
    accepted = {
        part.split(";")[0].strip().lower() for part in request.headers.get("accept-encoding", "").split(",")
    }
    return "zstd" in accepted and view.archive.dictionary_id == 0 and view.complete


def _unsatisfiable(length: int, headers: dict[str, str]) -> Response:
    return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{length}"})

"""HTTP reads: `GET /v1/jobs/{job_id}` (metadata) and `GET /v1/jobs/{job_id}/log` (the bytes, with
`Range` and `?offset=`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from logstore.chunk import validate_job_id
from logstore.config import AuthSettings
from logstore.store import LogStore
from logstore.web.auth import bearer_guard
from stream.byte_range import Unsatisfiable, parse_range
from stream.download import LogView, archive_frames, open_view, read_bytes

MEDIA_TYPE = "text/plain; charset=utf-8"


def stream_router(store: LogStore, auth: AuthSettings) -> APIRouter:
    router = APIRouter(dependencies=[Depends(bearer_guard(auth.read_token, "reading"))])

    @router.get("/v1/jobs/{job_id}")
    async def job_metadata(job_id: str) -> JSONResponse:
        info = await store.get_job(validate_job_id(job_id))
        return JSONResponse(info.as_json())

    @router.get("/v1/jobs/{job_id}/log")
    async def job_log(job_id: str, request: Request, offset: int | None = None) -> Response:
        view = await open_view(store, validate_job_id(job_id))
        headers = {
            "Log-Complete": "true" if view.complete else "false",
            "Log-Next-Offset": str(view.length),
            "Accept-Ranges": "bytes",
        }
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
        if offset is not None:  # progressive reads: everything from `offset` on
            if offset < 0 or offset > view.length:
                return _unsatisfiable(view.length, headers)
            body = read_bytes(store, view, offset, view.length - 1)
            headers["Content-Length"] = str(view.length - offset)
            return StreamingResponse(body, media_type=MEDIA_TYPE, headers=headers)
        try:
            wanted = parse_range(request.headers.get("range"), view.length)
        except Unsatisfiable:
            return _unsatisfiable(view.length, headers)
        if wanted is None:
            headers["Content-Length"] = str(view.length)
            return StreamingResponse(
                read_bytes(store, view, 0, view.length - 1), media_type=MEDIA_TYPE, headers=headers
            )
        first, last = wanted
        headers["Content-Range"] = f"bytes {first}-{last}/{view.length}"
        headers["Content-Length"] = str(last - first + 1)
        return StreamingResponse(
            read_bytes(store, view, first, last), status_code=206, media_type=MEDIA_TYPE, headers=headers
        )

    return router


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

"""HTTP reads: `GET /v1/jobs/{job_id}` and `GET /v1/jobs/{job_id}/log`."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, StreamingResponse

from logstore.chunk import validate_job_id
from logstore.config import AuthSettings
from logstore.store import LogStore
from logstore.web.auth import bearer_guard
from stream.download import open_download


def stream_router(store: LogStore, auth: AuthSettings) -> APIRouter:
    router = APIRouter(dependencies=[Depends(bearer_guard(auth.read_token, "reading"))])

    @router.get("/v1/jobs/{job_id}")
    async def job_metadata(job_id: str) -> JSONResponse:
        info = await store.get_job(validate_job_id(job_id))
        return JSONResponse(info.as_json())

    @router.get("/v1/jobs/{job_id}/log")
    async def job_log(job_id: str) -> StreamingResponse:
        download = await open_download(store, validate_job_id(job_id))
        return StreamingResponse(
            download.body, media_type="text/plain; charset=utf-8", headers=download.headers
        )

    return router

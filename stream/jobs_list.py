"""`GET /v1/jobs` (recent jobs as JSON, newest first) and the job list page `GET /jobs`."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from logstore.config import AuthSettings
from logstore.errors import JobNotFound
from logstore.store import LogStore
from logstore.web.auth import bearer_guard
from stream.viewer import read_static

DAY_S = 86_400.0


def jobs_router(store: LogStore, auth: AuthSettings) -> APIRouter:
    router = APIRouter()
    page = read_static("jobs.html")

    @router.get("/v1/jobs", dependencies=[Depends(bearer_guard(auth.read_token, "reading"))])
    async def recent_jobs(
        limit: int = Query(50, ge=1, le=500), days: float = Query(7, gt=0, le=366)
    ) -> JSONResponse:
        now = time.time()
        listed = await store.list_jobs(now - days * DAY_S, now + 1, limit)

        async def describe(job_id: str, created_at: float) -> dict[str, object] | None:
            try:
                status = await store.job_status(job_id)
            except JobNotFound:
                return None  # deleted meanwhile
            return {
                "job_id": job_id,
                "created_at": created_at,
                "state": status.state.value,
                "final_clock": status.final_clock,
            }

        rows = await asyncio.gather(*(describe(job.job_id, job.created_at) for job in listed))
        return JSONResponse({"jobs": [row for row in rows if row is not None]})

    @router.get("/jobs", include_in_schema=False)
    async def jobs_page() -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    return router

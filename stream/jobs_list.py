"""`GET /v1/jobs` (recent jobs as JSON, newest first) and the job list page `GET /jobs`. Private
jobs are listed only to holders of the read or admin token."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from logstore.errors import JobNotFound
from logstore.store import LogStore
from stream.access import ReadAccess, Verdict, refuse
from stream.viewer import read_static

DAY_S = 86_400.0


def jobs_router(store: LogStore, access: ReadAccess) -> APIRouter:
    router = APIRouter()
    page = read_static("jobs.html")

    @router.get("/v1/jobs")
    async def recent_jobs(
        request: Request, limit: int = Query(50, ge=1, le=500), days: float = Query(7, gt=0, le=366)
    ) -> JSONResponse:
        verdict = access.token_verdict(request)
        refuse(verdict)
        sees_private = verdict is Verdict.ALLOWED
        now = time.time()
        listed = await store.list_jobs(now - days * DAY_S, now + 1, limit)

        async def describe(job_id: str, created_at: float) -> dict[str, object] | None:
            try:
                status = await store.job_status(job_id)
            except JobNotFound:
                return None  # deleted meanwhile
            if not sees_private and (await store.job_protection(job_id)).private:
                return None
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

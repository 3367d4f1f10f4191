"""`GET /v1/jobs` (recent jobs as JSON, newest first) and the job list page `GET /jobs`. Private
jobs are listed only to holders of the read or admin token.

Filters: `prefix` (job ids starting with it) and `state` (one of the job states, or several
separated by commas). Each job: `job_id`, `state`, `bytes` (the log's size as stored), `chunks`,
`created_at` (its first chunk), `updated_at` (its last write, refreshed at most every few seconds
on Cassandra: the last activity), `duration_s` (from the first chunk to the last write, or to
now while it runs) and `final_clock`.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from logstore.errors import InvalidInput, JobNotFound
from logstore.store import JobListing, JobState, LogStore
from stream.access import ReadAccess, Verdict, refuse
from stream.viewer import read_static

DAY_S = 86_400.0
SCAN = 5_000  # listings a filtered request looks through, at most
BATCH = 100  # jobs whose state is read at once


def jobs_router(store: LogStore, access: ReadAccess) -> APIRouter:
    router = APIRouter()
    page = read_static("jobs.html")

    @router.get("/v1/jobs")
    async def recent_jobs(
        request: Request,
        limit: int = Query(50, ge=1, le=500),
        days: float = Query(7, gt=0, le=366),
        prefix: str = Query("", max_length=128),
        state: str = Query("", max_length=100),
    ) -> JSONResponse:
        verdict = access.token_verdict(request)
        refuse(verdict)
        wanted = _states(state)
        sees_private = verdict is Verdict.ALLOWED
        now = time.time()
        filtered = bool(prefix or wanted)
        listed = await store.list_jobs(now - days * DAY_S, now + 1, SCAN if filtered else limit)
        candidates = [job for job in listed if job.job_id.startswith(prefix)]

        async def visible(job: JobListing) -> JobListing | None:
            try:
                status = await store.job_status(job.job_id)
            except JobNotFound:
                return None  # deleted meanwhile
            if wanted and status.state not in wanted:
                return None
            if not sees_private and (await store.job_protection(job.job_id)).private:
                return None
            return job

        chosen: list[JobListing] = []
        for start in range(0, len(candidates), BATCH):
            found = await asyncio.gather(*(visible(job) for job in candidates[start : start + BATCH]))
            chosen += [job for job in found if job is not None]
            if len(chosen) >= limit:
                break

        async def describe(job: JobListing) -> dict[str, object] | None:
            try:
                info = await store.get_job(job.job_id)
            except JobNotFound:
                return None
            last = info.updated_at or job.created_at
            running = info.state is JobState.RUNNING
            return {
                "job_id": job.job_id,
                "state": info.state.value,
                "bytes": info.bytes,
                "chunks": info.chunks,
                "created_at": job.created_at,
                "updated_at": info.updated_at,
                "duration_s": max(0.0, (now if running else last) - job.created_at),
                "final_clock": info.final_clock,
            }

        rows = await asyncio.gather(*(describe(job) for job in chosen[:limit]))
        return JSONResponse({"jobs": [row for row in rows if row is not None]})

    @router.get("/jobs", include_in_schema=False)
    async def jobs_page() -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    return router


def _states(text: str) -> set[JobState]:
    try:
        return {JobState(name.strip()) for name in text.split(",") if name.strip()}
    except ValueError:
        names = ", ".join(state.value for state in JobState)
        raise InvalidInput(f"state must be one or more of {names}, separated by commas") from None

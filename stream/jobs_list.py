"""`GET /v1/jobs` (recent jobs as JSON, newest first) and the job list page `GET /jobs`. Private
jobs are listed only to holders of the read or admin token.

Filters: `prefix` (job ids starting with it) and `state` (one of the job states, or several
separated by commas). Each job: `job_id`, `state`, `bytes` (the log's size as stored; null for a
job with registered secrets, whose stored size minus its masked log's would tell the secrets'
lengths), `chunks`, `created_at` (its first chunk), `updated_at` (its last write, refreshed at
most every few seconds on Cassandra: the last activity), `duration_s` (from the first chunk to
the last write, or to now while it runs) and `final_clock`.

Bounded cost: one request lists at most PAGE_DAYS days of jobs (LISTED listings, one store call:
on Cassandra at most PAGE_DAYS + 1 day partitions), looks at most at EXAMINE of them (their
protection, and their status when filtering by state) and describes at most `limit`. A request
that stopped before the end of its `days` answers `next_cursor`; the same request with
`cursor=` goes on where it stopped (its `days` then come from the cursor). The cursor names a
job only when it is one the page returned; where a page stopped at a job the caller does not see
(its budget ran out on hidden jobs) the cursor holds only that job's creation time, never its id.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import time
from dataclasses import dataclass

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from logstore.errors import InvalidInput, JobNotFound
from logstore.store import JobListing, JobState, LogStore
from stream.access import ReadAccess, Verdict, refuse
from stream.viewer import read_static

DAY_S = 86_400.0
PAGE_DAYS = 7  # days of jobs one request lists, at most
LISTED = 5_000  # listings one request reads, at most
EXAMINE = 500  # jobs whose protection (and status, when filtering by state) one request reads
BATCH = 100  # jobs looked at together
TIE_S = 0.001  # created_at is kept to the millisecond on Cassandra: a page's last job and its ties


@dataclass(frozen=True)
class Cursor:
    """Where a page stopped: everything newer than `before` is done, and with `job_id` set also
    the jobs created at `before` whose ids sort up to it; `after` is where the listing ends."""

    before: float
    job_id: str | None
    after: float

    def encode(self) -> str:
        text = json.dumps([self.before, self.job_id, self.after], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidInput("cursor is not one this server gave") from None
        try:
            valid = _valid(raw)
        except (OverflowError, ValueError, TypeError):  # an integer too large for a float, ...
            valid = False
        if not valid:
            raise InvalidInput("cursor is not one this server gave")
        return cls(float(raw[0]), raw[1], float(raw[2]))

    def done(self, job: JobListing) -> bool:
        if job.created_at != self.before:
            return job.created_at > self.before
        return self.job_id is None or job.job_id <= self.job_id


def _valid(raw: object) -> bool:
    return (
        isinstance(raw, list)
        and len(raw) == 3
        and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in (raw[0], raw[2])
        )
        and (raw[1] is None or (isinstance(raw[1], str) and len(raw[1]) <= 256))
        and raw[2] <= raw[0]
    )


def _order(job: JobListing) -> tuple[float, str]:
    return (-job.created_at, job.job_id)


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
        cursor: str | None = Query(None, max_length=1024),
    ) -> JSONResponse:
        verdict = access.token_verdict(request)
        refuse(verdict)
        wanted = _states(state)
        sees_private = verdict is Verdict.ALLOWED
        now = time.time()
        at = Cursor.decode(cursor) if cursor is not None else Cursor(now + 1, None, now - days * DAY_S)
        upper = at.before + TIE_S if at.job_id is not None else at.before
        lower = max(at.after, at.before - PAGE_DAYS * DAY_S)
        listed = await store.list_jobs(lower, upper, LISTED)
        complete = len(listed) < LISTED  # every job of [lower, upper) was listed
        listed.sort(key=_order)
        candidates = [job for job in listed if not at.done(job) and job.job_id.startswith(prefix)]
        examined = candidates[:EXAMINE]

        async def visible(job: JobListing) -> tuple[JobListing, bool] | None:
            """The job and whether it has secrets, or None when this caller does not list it."""
            try:
                protection, status = await asyncio.gather(
                    store.job_protection(job.job_id),
                    store.job_status(job.job_id) if wanted else _no_status(),
                )
            except JobNotFound:
                return None  # deleted meanwhile
            if status is not None and status.state not in wanted:
                return None
            if protection.private and not sees_private:
                return None
            return job, bool(protection.secrets)

        chosen: list[tuple[JobListing, bool]] = []
        looked = 0
        for start in range(0, len(examined), BATCH):
            batch = examined[start : start + BATCH]
            found = await asyncio.gather(*(visible(job) for job in batch))
            chosen += [item for item in found if item is not None]
            looked = start + len(batch)
            if len(chosen) >= limit:
                break

        if len(chosen) >= limit:
            chosen = chosen[:limit]
            last = chosen[-1][0]
            following: Cursor | None = Cursor(last.created_at, last.job_id, at.after)
        elif looked < len(candidates):  # the budget ran out on jobs this caller does not see
            stopped = examined[looked - 1]
            following = Cursor(stopped.created_at, None, at.after)  # its time, never its id
        elif not complete:
            following = Cursor(listed[-1].created_at, None, at.after)
        elif lower > at.after:
            following = Cursor(lower, None, at.after)
        else:
            following = None

        async def describe(job: JobListing, masked: bool) -> dict[str, object] | None:
            try:
                info = await store.get_job(job.job_id)
            except JobNotFound:
                return None
            last = info.updated_at or job.created_at
            running = info.state is JobState.RUNNING
            return {
                "job_id": job.job_id,
                "state": info.state.value,
                "bytes": None if masked else info.bytes,
                "chunks": info.chunks,
                "created_at": job.created_at,
                "updated_at": info.updated_at,
                "duration_s": max(0.0, (now if running else last) - job.created_at),
                "final_clock": info.final_clock,
            }

        rows = await asyncio.gather(*(describe(job, masked) for job, masked in chosen))
        return JSONResponse(
            {
                "jobs": [row for row in rows if row is not None],
                "next_cursor": following.encode() if following is not None else None,
            }
        )

    @router.get("/jobs", include_in_schema=False)
    async def jobs_page() -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    return router


async def _no_status() -> None:
    return None


def _states(text: str) -> set[JobState]:
    try:
        return {JobState(name.strip()) for name in text.split(",") if name.strip()}
    except ValueError:
        names = ", ".join(state.value for state in JobState)
        raise InvalidInput(f"state must be one or more of {names}, separated by commas") from None

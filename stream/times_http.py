"""`GET /v1/jobs/{job_id}/times`: when each chunk of a job's log was stored (server time).

    {"job_id": "build-42", "complete": true, "times": [1764000000.125, 1764000001.5, null, ...],
     "offsets": [0, 1024, 2048, ...]}

`times[k]` is the unix time (seconds) at which clock k was first stored, for every clock of the
readable prefix (the part a download returns), from the chunks while the job runs and from the
archive once compacted; null where it is unknown (chunks stored, or archives made, before times
were kept). `offsets[k]` is where clock k starts in the downloaded log; it is null for a job with
secrets, whose masked log has other offsets (the viewer places times by clock). Who may read the
times is who may read the log (stream/access.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from logstore.chunk import validate_job_id
from logstore.store import LogStore
from stream.access import ReadAccess, require_read
from stream.download import LogView, open_view
from stream.http import cache_control
from stream.masked_log import is_final


def times_router(store: LogStore, access: ReadAccess) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/jobs/{job_id}/times")
    async def chunk_times(job_id: str, request: Request) -> JSONResponse:
        """Server store time of every chunk of the readable log, by clock."""
        protection = await require_read(access, request, validate_job_id(job_id))
        view = await open_view(store, job_id)
        times = await _times(store, view)
        if None in times and view.archive is None and len(await store.chunk_index(job_id)) < len(view.starts):
            view = await open_view(store, job_id)  # compacted meanwhile: the archive has them
            times = await _times(store, view)
        return JSONResponse(
            {
                "job_id": job_id,
                "complete": is_final(view),
                "times": times,
                "offsets": None if protection.secrets else view.starts,
            },
            headers=cache_control(protection),
        )

    return router


async def _times(store: LogStore, view: LogView) -> list[float | None]:
    count = len(view.starts)
    if view.refs is not None:
        flat: list[float | None] = []
        for ref in view.refs:
            flat += ref.times if ref.times is not None else [None] * len(ref.sizes)
        return flat[:count]
    stored = dict(await store.chunk_times(view.job_id))
    return [stored.get(clock) for clock in range(count)]

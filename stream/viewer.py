"""The log viewer page `GET /jobs/{job_id}` and its static files (plain JS, no build step)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from logstore.chunk import validate_job_id

STATIC_TYPES = {
    "viewer.js": "text/javascript",
    "ansi.js": "text/javascript",
    "logmodel.js": "text/javascript",
    "viewer.css": "text/css",
}


def read_static(name: str) -> bytes:
    return resources.files("stream").joinpath("static", name).read_bytes()


def viewer_router() -> APIRouter:
    router = APIRouter()
    page = read_static("viewer.html")
    files = {name: read_static(name) for name in STATIC_TYPES}

    @router.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    async def viewer(job_id: str) -> Response:
        validate_job_id(job_id)  # 422 for an invalid id; an unknown job may still start
        return Response(page, media_type="text/html; charset=utf-8")

    @router.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in files:
            return Response(status_code=404)
        return Response(files[name], media_type=STATIC_TYPES[name], headers={"Cache-Control": "max-age=300"})

    return router

"""The log viewer page `GET /jobs/{job_id}` and its static files (plain JS, no build step).

The page is the same for every valid job id, known or not (a viewer may open it before the job's
first chunk): a private job's page without credentials is an unknown job's, whose tail then
stays silent and whose log is 404 (stream/access.py). Only credentials are checked here, with no
store read: a wrong token or an invalid signed URL is 403, none where a read token is configured
401. With a signed URL the page's script carries `expires` and `signature` to the tail and the
raw download."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from logstore.chunk import validate_job_id
from stream.access import ReadAccess, refuse

STATIC_TYPES = {
    "viewer.js": "text/javascript",
    "ansi.js": "text/javascript",
    "logmodel.js": "text/javascript",
    "search.js": "text/javascript",
    "failure.js": "text/javascript",
    "viewer.css": "text/css",
}
# The page's URL may carry a token or a signature: keep it out of Referer headers.
PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def read_static(name: str) -> bytes:
    return resources.files("stream").joinpath("static", name).read_bytes()


def viewer_router(access: ReadAccess) -> APIRouter:
    router = APIRouter()
    page = read_static("viewer.html")
    files = {name: read_static(name) for name in STATIC_TYPES}

    @router.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    async def viewer(job_id: str, request: Request) -> Response:
        # 422 for an invalid id; an unknown job may still start, and a private one looks unknown
        validate_job_id(job_id)
        refuse(access.signature_verdict(request, job_id) or access.token_verdict(request))
        return Response(page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @router.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in files:
            return Response(status_code=404)
        return Response(files[name], media_type=STATIC_TYPES[name], headers={"Cache-Control": "max-age=300"})

    return router

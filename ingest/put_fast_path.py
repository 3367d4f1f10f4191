"""`PUT /v1/jobs/{job_id}/chunks/{clock}` answered before the framework, as ASGI middleware.

Routing through every route's pattern, dependency injection, query parsing by type annotations and
three layers of exception middleware cost about 40% of an ingester's CPU under a `PUT` load
(py-spy, docs/performance-history.md, 2026-11-24, session 6). This path takes the ordinary request
(the exact path shape, at most `final` and `private` as plain booleans) and runs the same code as
the route (ingest/http.py `put_chunk`): the same bearer check and answers, the same validation
order, the same errors. Any other request, including every odd one (unknown or repeated query
parameters, a value that is not a plain boolean, more path segments), goes on to the framework's
route unchanged, so what the API accepts and refuses stays defined in one place."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse, Response
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ingest.http import PUT_PATH, put_chunk
from ingest.service import IngestService
from logstore.config import AuthSettings
from logstore.errors import LogstoreError
from logstore.web.auth import bearer_refusal, expected_token
from logstore.web.errors import error_response

PREFIX = "/v1/jobs/"
FLAGS = frozenset({"final", "private"})
# the spellings pydantic reads as booleans (what the route accepts), lowercased
TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


@dataclass(frozen=True)
class _Route:
    """What the HTTP metrics read from scope["route"]: the route's template."""

    path: str


ROUTE = _Route(PUT_PATH)


def _flags(query: bytes) -> dict[str, bool] | None:
    """final and private from a query string, or None when it is anything but plain flags."""
    flags: dict[str, bool] = {}
    if not query:
        return flags
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        lowered = value.lower()
        if name not in FLAGS or name in flags or not (lowered in TRUE or lowered in FALSE):
            return None
        flags[name] = lowered in TRUE
    return flags


def _target(scope: Scope) -> tuple[str, str] | None:
    """(job_id, clock) when the request is a plain chunk PUT, else None."""
    if scope["type"] != "http" or scope["method"] != "PUT":
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX) or scope.get("root_path"):
        return None
    parts = path[len(PREFIX) :].split("/")
    if len(parts) != 3 or parts[1] != "chunks" or not parts[0] or not parts[2]:
        return None
    if b"%" in scope.get("raw_path", b""):  # encoded bytes: the router decides
        return None
    return parts[0], parts[2]


class PutChunkFastPath:
    def __init__(self, app: ASGIApp, service: IngestService, auth: AuthSettings) -> None:
        self.app = app
        self.service = service
        self._expected = expected_token(auth.write_token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = _target(scope)
        flags = _flags(scope.get("query_string", b"")) if target is not None else None
        if target is None or flags is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = ROUTE
        request = Request(scope, receive)
        refusal = bearer_refusal(request.headers.get("authorization", ""), self._expected, "writing")
        response: Response
        if refusal is not None:  # rendered as FastAPI renders an HTTPException
            response = JSONResponse({"detail": refusal.detail}, refusal.status_code, refusal.headers)
        else:
            job_id, clock = target
            final, private = flags.get("final", False), flags.get("private", False)
            try:
                response = await put_chunk(self.service, request, job_id, clock, final, private)
            except LogstoreError as exc:
                response = error_response(exc)
        await response(scope, receive, send)

"""The FastAPI app factory: the service routers it is given, plus /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware import Middleware

from logstore import __version__
from logstore.config import LimitsSettings
from logstore.errors import LogstoreError
from logstore.web.errors import error_response, install_error_handlers
from logstore.web.forwarded import ForwardedClient, TrustedProxies
from logstore.web.http_metrics import HttpMetrics
from logstore.web.loop_lag import watch_loop_lag
from logstore.web.rate_limit import RateLimit

Hook = Callable[[], Awaitable[None]]


def create_app(
    routers: Sequence[APIRouter],
    ready: Hook,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    limits: LimitsSettings | None = None,
    rate_clock: Callable[[], float] = time.monotonic,
    client_address: TrustedProxies | None = None,
    inner_middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """`ready` raises a LogstoreError when a dependency is down (answered 503 by /readyz).
    `limits` sets the per-client request rate (logstore/web/rate_limit.py), whose buckets refill
    by `rate_clock` (seconds, monotonic); the client is the TCP peer, or the address
    `client_address` reads from the configured header of a trusted proxy
    (logstore/web/forwarded.py). `inner_middleware` runs inside the proxy, metrics and
    rate-limit layers, first listed outermost (a role's fast paths)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        lag = asyncio.create_task(watch_loop_lag())
        try:
            for hook in on_startup:
                await hook()
            try:
                yield
            finally:
                for hook in on_shutdown:
                    await hook()
        finally:
            lag.cancel()
            with suppress(asyncio.CancelledError):
                await lag

    # no /docs or /redoc: FastAPI's pages load their scripts from a CDN, which would run a third
    # party's code beside the viewer's origin; /openapi.json stays for clients and tools
    app = FastAPI(title="logstore", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    for middleware in reversed(inner_middleware):  # added first = innermost
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    if limits is not None and limits.rate_limit > 0:
        app.add_middleware(RateLimit, rate=limits.rate_limit, burst=limits.rate_burst, clock=rate_clock)
    app.add_middleware(HttpMetrics)  # outside the rate limit: its 429s are counted too
    # outermost: all the rest see the client
    app.add_middleware(ForwardedClient, proxies=client_address or TrustedProxies(()))
    for router in routers:
        app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        try:
            await ready()
        except LogstoreError as exc:
            return error_response(exc)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app

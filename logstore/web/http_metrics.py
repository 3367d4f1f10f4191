"""Rate, errors and duration of HTTP requests (the RED view), for every role, as ASGI middleware.

Labelled by the route's template (`/v1/jobs/{job_id}/log`, never the job id itself, so the
number of series stays bounded), the method and the status code. Which role answered is the
scrape target's `role` label (deploy/prometheus). Health, readiness and metrics are not counted.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "logstore_http_requests_total",
    "HTTP requests answered, by route, method and status",
    ["route", "method", "code"],
)
DURATION = Histogram(
    "logstore_http_request_duration_seconds",
    "From a request's arrival to the end of its response, by route and method",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
NOT_COUNTED = frozenset({"/healthz", "/readyz", "/metrics"})


class HttpMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NOT_COUNTED:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before starting a response

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            REQUESTS.labels(route, method, str(status)).inc()
            DURATION.labels(route, method).observe(time.perf_counter() - started)

"""Per-client request rate limit: a token bucket per client address, as ASGI middleware.

Each address may send `rate` requests per second on average and `burst` at once; beyond that
the request is answered 429 with `Retry-After` (whole seconds until a token is back) and never
reaches the application. The table of buckets holds at most MAX_CLIENTS addresses, least
recently seen forgotten first (a forgotten client starts again with a full bucket), so a flood
of addresses costs bounded memory. A websocket connect takes a token too; refused, it is
accepted and closed at once with 4429 (the tail's close code for "too many"), which a viewer
answers by backing off. Open tails are further limited per client by the tail (close 4429);
health, readiness and metrics are never limited. An IPv6 client's bucket is its /64: one host
is given a /64 (SLAAC, privacy addresses) and can cycle through its 2^64 addresses for free.
The address is the client's as logstore/web/forwarded.py finds it: the TCP peer's, or behind a
proxy listed in `--trusted-proxies` the address that proxy forwarded. A refused client is logged at most once
a minute.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("logstore.web")

MAX_CLIENTS = 10_000
LOG_EVERY_S = 60.0
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def bucket_of(address: str) -> str:
    """The rate-limit key of a client address: the address itself, or an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return address


class TokenBuckets:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def take(self, client: str) -> float:
        """0.0 when the request may go ahead (a token is taken), else seconds until it may."""
        now = self._clock()
        tokens, at = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimit:
    def __init__(
        self, app: ASGIApp, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst, clock)
        self._logged: OrderedDict[str, float] = OrderedDict()  # client -> when its refusal was logged

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = bucket_of(scope["client"][0]) if scope.get("client") else "?"
        wait = self.buckets.take(client)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        self._log_refusal(client)
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 4429, "reason": "rate limited"})
            return
        body = json.dumps({"error": "rate_limited", "message": "too many requests from this address"})
        headers = [
            (b"content-type", b"application/json"),
            (b"retry-after", str(max(1, math.ceil(wait))).encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})

    def _log_refusal(self, client: str) -> None:
        now = time.monotonic()
        last = self._logged.pop(client, None)
        if last is None or now - last >= LOG_EVERY_S:
            log.warning("rate limited", extra={"client": client})
            last = now
        self._logged[client] = last
        if len(self._logged) > MAX_CLIENTS:
            self._logged.popitem(last=False)

"""Compose the all-in-one HTTP app from the roles' routers (used by `serve` and the tests)."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI
from starlette.middleware import Middleware

from compactor.http import admin_router
from ingest.http import ingest_router
from ingest.protection_http import protection_router
from ingest.put_fast_path import PutChunkFastPath
from ingest.service import IngestService
from logstore.bus import Bus
from logstore.config import Settings
from logstore.store import LogStore
from logstore.web.app import create_app
from logstore.web.forwarded import TrustedProxies
from stream.routes import stream_routers


def build_app(
    settings: Settings,
    store: LogStore,
    bus: Bus,
    rate_clock: Callable[[], float] = time.monotonic,
    service: IngestService | None = None,
) -> FastAPI:
    """The all-in-one HTTP app over an open store; the rate limit refills by `rate_clock`. Its
    ingest routes store through `service` when given (`serve` shares one with its AMQP
    consumer, so both see one circuit breaker and one set of caches), else through their own."""
    service = service or IngestService(store, bus, settings.limits)
    return create_app(
        routers=[
            ingest_router(service, settings.auth),
            protection_router(service, settings.auth),
            *stream_routers(settings, store, bus),
            admin_router(store, settings.auth),
        ],
        ready=store.ping,
        limits=settings.limits,
        rate_clock=rate_clock,
        client_address=TrustedProxies.of(settings.http),
        inner_middleware=[Middleware(PutChunkFastPath, service=service, auth=settings.auth)],
    )

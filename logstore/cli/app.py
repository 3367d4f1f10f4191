"""Compose the all-in-one HTTP app from the roles' routers (used by `serve` and the tests)."""

from __future__ import annotations

from fastapi import FastAPI

from compactor.http import admin_router
from ingest.http import ingest_router
from ingest.protection_http import protection_router
from ingest.service import IngestService
from logstore.bus import Bus
from logstore.config import Settings
from logstore.store import LogStore
from logstore.web.app import create_app
from stream.routes import stream_routers


def build_app(settings: Settings, store: LogStore, bus: Bus) -> FastAPI:
    """The all-in-one HTTP app over an open store."""
    service = IngestService(store, bus, settings.limits)
    return create_app(
        routers=[
            ingest_router(service, settings.auth),
            protection_router(service, settings.auth),
            *stream_routers(settings, store, bus),
            admin_router(store, settings.auth),
        ],
        ready=store.ping,
        limits=settings.limits,
        trusted_proxies=settings.http.proxy_networks,
    )

"""Compose the all-in-one HTTP app from the roles' routers (used by `serve` and the tests)."""

from __future__ import annotations

from fastapi import FastAPI

from compactor.http import admin_router
from ingest.http import ingest_router
from ingest.service import IngestService
from logstore.bus import Bus
from logstore.config import Settings
from logstore.store import LogStore
from logstore.web.app import create_app
from stream.fanout import LiveHub
from stream.http import stream_router
from stream.jobs_list import jobs_router
from stream.viewer import viewer_router
from stream.ws import tail_router


def build_app(settings: Settings, store: LogStore, bus: Bus) -> FastAPI:
    """The all-in-one HTTP app over an open store."""
    service = IngestService(store, bus, settings.limits)
    hub = LiveHub(bus)
    return create_app(
        routers=[
            ingest_router(service, settings.auth),
            stream_router(store, settings.auth),
            tail_router(store, hub, settings.auth, settings.stream),
            viewer_router(),
            jobs_router(store, settings.auth),
            admin_router(store, settings.auth),
        ],
        ready=store.ping,
    )

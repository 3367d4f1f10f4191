"""Every HTTP route of the stream role, for `logstore stream` and the all-in-one app alike."""

from __future__ import annotations

from fastapi import APIRouter

from logstore.bus import Bus
from logstore.config import Settings
from logstore.store import LogStore
from stream.fanout import LiveHub
from stream.http import stream_router
from stream.jobs_list import jobs_router
from stream.viewer import viewer_router
from stream.ws import tail_router


def stream_routers(settings: Settings, store: LogStore, bus: Bus) -> list[APIRouter]:
    return [
        stream_router(store, settings.auth),
        tail_router(store, LiveHub(bus), settings.auth, settings.stream),
        viewer_router(),
        jobs_router(store, settings.auth),
    ]

"""Every HTTP route of the stream role, for `logstore stream` and the all-in-one app alike."""

from __future__ import annotations

from fastapi import APIRouter

from logstore.bus import Bus
from logstore.config import Settings
from logstore.store import LogStore
from stream.access import ReadAccess
from stream.error_rules import error_rules_router, load_rules
from stream.fanout import LiveHub
from stream.http import stream_router
from stream.jobs_list import jobs_router
from stream.search_http import search_router
from stream.signed_urls import signed_url_router
from stream.times_http import times_router
from stream.viewer import viewer_router
from stream.ws import tail_router


def stream_routers(settings: Settings, store: LogStore, bus: Bus) -> list[APIRouter]:
    access = ReadAccess(store, settings.auth)
    return [
        stream_router(store, access),
        search_router(store, access),
        times_router(store, access),
        tail_router(store, LiveHub(bus), access, settings.stream),
        viewer_router(access),
        jobs_router(store, access),
        signed_url_router(access, settings.auth),
        error_rules_router(load_rules(settings.stream.error_patterns)),
    ]

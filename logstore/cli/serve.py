"""`logstore serve`: every role in one process, on the embedded default (SQLite, in-process bus)
or on the servers the flags name."""

from __future__ import annotations

import argparse
import logging
from typing import Any

import uvicorn
import uvloop
from fastapi import FastAPI

from ingest.http import ingest_router
from ingest.service import IngestService
from logstore.cli.options import add_service_flags, settings_from
from logstore.config import Settings
from logstore.logs import configure_logging
from logstore.store import LogStore, open_store
from logstore.web.app import create_app
from stream.http import stream_router

log = logging.getLogger("logstore.serve")


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help="run ingest, stream and compactor in one process")
    add_service_flags(parser)
    parser.set_defaults(run=run)


def build_app(settings: Settings, store: LogStore) -> FastAPI:
    """The all-in-one HTTP app over an open store (also what the tests drive)."""
    service = IngestService(store, settings.limits)
    return create_app(
        routers=[ingest_router(service, settings.auth), stream_router(store, settings.auth)],
        ready=store.ping,
    )


async def serve(settings: Settings) -> None:
    store = await open_store(settings.store.store)
    try:
        app = build_app(settings, store)
        config = uvicorn.Config(
            app,
            host=settings.http.host,
            port=settings.http.port,
            loop="none",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
        log.info(
            "serving", extra={"listen": settings.http.listen, "store": settings.store.store.split("?")[0]}
        )
        await uvicorn.Server(config).serve()
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    configure_logging(settings.logging.log_level, "serve")
    uvloop.run(serve(settings))
    return 0

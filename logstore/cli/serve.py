"""`logstore serve`: every role in one process, on the embedded default (SQLite, in-process bus)
or on the servers the flags name."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

from logstore.cli.options import add_service_flags, settings_from

if TYPE_CHECKING:
    from logstore.config import Settings

log = logging.getLogger("logstore.serve")


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help="run ingest, stream and compactor in one process")
    add_service_flags(parser)
    parser.set_defaults(run=run)


async def serve(settings: Settings) -> None:
    from compactor.sweep import Sweeper
    from compactor.worker import CompactionWorker
    from logstore.bus import open_bus
    from logstore.cli.app import build_app
    from logstore.process import Worker, run_role
    from logstore.store import open_store

    store = await open_store(settings.store.store)
    try:
        bus = await open_bus(settings.bus)
        try:
            where = settings.store.store.split("?")[0]
            log.info("serving", extra={"listen": settings.http.listen, "store": where})
            workers: list[Worker] = [
                CompactionWorker(store, bus, settings.compact),
                Sweeper(store, bus, settings.compact),
            ]
            await run_role(build_app(settings, store, bus), settings.http, workers)
        finally:
            await bus.close()
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    import uvloop

    from logstore.logs import configure_logging

    settings = settings_from(args)
    configure_logging(settings.logging.log_level, "serve")
    uvloop.run(serve(settings))
    return 0

"""`logstore compact`: one of K compactors, taking finished jobs from the compaction queue."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from logstore.cli.options import add_service_flags, settings_from
from logstore.errors import ConfigError

if TYPE_CHECKING:
    from logstore.config import Settings


def register(commands: Any) -> None:
    parser = commands.add_parser("compact", help="turn finished logs into compressed archives")
    add_service_flags(parser)
    parser.set_defaults(run=run)


async def compact(settings: Settings) -> None:
    from compactor.http import admin_router
    from compactor.sweep import Sweeper
    from compactor.worker import CompactionWorker
    from logstore.bus.amqp import AmqpBus
    from logstore.process import Worker, run_role
    from logstore.store import open_store
    from logstore.web.app import create_app

    store = await open_store(settings.store.store)
    try:
        bus = await AmqpBus.connect(settings.bus)
        try:
            workers: list[Worker] = [
                CompactionWorker(store, bus, settings.compact),
                Sweeper(store, bus, settings.compact),
            ]
            app = create_app([admin_router(store, settings.auth)], ready=store.ping)
            await run_role(app, settings.http, workers)
        finally:
            await bus.close()
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    import uvloop

    from logstore.logs import configure_logging

    settings = settings_from(args)
    if not settings.bus.bus.startswith(("amqp://", "amqps://")):
        raise ConfigError(
            "logstore compact takes jobs from RabbitMQ: give --bus amqp://USER:PASS@HOST:PORT/VHOST"
        )
    configure_logging(settings.logging.log_level, "compact")
    uvloop.run(compact(settings))
    return 0

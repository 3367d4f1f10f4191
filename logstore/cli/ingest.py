"""`logstore ingest`: one of N competing ingesters on RabbitMQ, plus HTTP ingest, /metrics and
health on --listen."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from logstore.cli.options import add_service_flags, settings_from
from logstore.errors import ConfigError

if TYPE_CHECKING:
    from logstore.config import Settings


def register(commands: Any) -> None:
    parser = commands.add_parser("ingest", help="consume chunks from RabbitMQ (and HTTP) into the store")
    add_service_flags(parser)
    parser.set_defaults(run=run)


async def ingest(settings: Settings) -> None:
    from ingest.consumer import AmqpIngester
    from ingest.http import ingest_router
    from ingest.service import IngestService
    from logstore.bus.amqp import AmqpBus
    from logstore.process import run_role
    from logstore.store import open_store
    from logstore.web.app import create_app

    store = await open_store(settings.store.store)
    try:
        bus = await AmqpBus.connect(settings.bus)
        try:
            service = IngestService(store, bus, settings.limits)
            app = create_app([ingest_router(service, settings.auth)], ready=store.ping)
            await run_role(app, settings.http, [AmqpIngester(service, bus)])
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
            "logstore ingest consumes from RabbitMQ: give --bus amqp://USER:PASS@HOST:PORT/VHOST"
        )
    configure_logging(settings.logging.log_level, "ingest")
    uvloop.run(ingest(settings))
    return 0

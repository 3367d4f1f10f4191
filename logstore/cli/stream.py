"""`logstore stream`: one of M streamers: downloads, metadata and live tails, following the
ingesters' announcements on RabbitMQ."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from logstore.cli.options import add_service_flags, settings_from
from logstore.errors import ConfigError

if TYPE_CHECKING:
    from logstore.config import Settings


def register(commands: Any) -> None:
    parser = commands.add_parser("stream", help="serve downloads and live tails")
    add_service_flags(parser)
    parser.set_defaults(run=run)


async def stream(settings: Settings) -> None:
    from logstore.bus.amqp import AmqpBus
    from logstore.process import run_role
    from logstore.store import open_store
    from logstore.web.app import create_app
    from stream.fanout import LiveHub
    from stream.http import stream_router
    from stream.jobs_list import jobs_router
    from stream.viewer import viewer_router
    from stream.ws import tail_router

    store = await open_store(settings.store.store)
    try:
        bus = await AmqpBus.connect(settings.bus)
        try:
            routers = [
                stream_router(store, settings.auth),
                tail_router(store, LiveHub(bus), settings.auth, settings.stream),
                viewer_router(),
                jobs_router(store, settings.auth),
            ]
            await run_role(create_app(routers, ready=store.ping), settings.http)
        finally:
            await bus.close()
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    import uvloop

    from logstore.logs import configure_logging

    settings = settings_from(args)
    if not settings.bus.bus.startswith(("amqp://", "amqps://")):
        raise ConfigError("logstore stream follows RabbitMQ: give --bus amqp://USER:PASS@HOST:PORT/VHOST")
    configure_logging(settings.logging.log_level, "stream")
    uvloop.run(stream(settings))
    return 0

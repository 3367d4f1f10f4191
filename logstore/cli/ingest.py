"""`logstore ingest`: one of N competing ingesters on RabbitMQ, plus HTTP ingest, /metrics and
health on --listen."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from logstore.cli.options import add_service_flags
from logstore.cli.role import run_role_command

if TYPE_CHECKING:
    from logstore.bus import Bus
    from logstore.config import Settings
    from logstore.store import LogStore


def register(commands: Any) -> None:
    parser = commands.add_parser("ingest", help="consume chunks from RabbitMQ (and HTTP) into the store")
    add_service_flags(parser)
    parser.set_defaults(run=run)


async def ingest(settings: Settings, store: LogStore, bus: Bus) -> None:
    from starlette.middleware import Middleware

    from ingest.consumer import AmqpIngester
    from ingest.http import ingest_router
    from ingest.protection_http import protection_router
    from ingest.put_fast_path import PutChunkFastPath
    from ingest.service import IngestService
    from logstore.bus.amqp import AmqpBus
    from logstore.process import run_role
    from logstore.supervisor import Supervisor
    from logstore.web.app import create_app
    from logstore.web.forwarded import TrustedProxies

    assert isinstance(bus, AmqpBus)
    service = IngestService(store, bus, settings.limits)
    routers = [ingest_router(service, settings.auth), protection_router(service, settings.auth)]
    app = create_app(
        routers,
        ready=store.ping,
        limits=settings.limits,
        client_address=TrustedProxies.of(settings.http),
        inner_middleware=[Middleware(PutChunkFastPath, service=service, auth=settings.auth)],
    )
    consumer = Supervisor("amqp_ingester", lambda: AmqpIngester(service, bus))
    await run_role(app, settings.http, [consumer])


def run(args: argparse.Namespace) -> int:
    return run_role_command(args, "ingest", ingest)

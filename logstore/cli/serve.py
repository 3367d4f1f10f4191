"""`logstore serve`: every role in one process, on the embedded default (SQLite, in-process bus)
or on the servers the flags name: given RabbitMQ, it also consumes the chunks workers publish."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

from logstore.cli.options import add_service_flags
from logstore.cli.role import run_role_command

if TYPE_CHECKING:
    from logstore.bus import Bus
    from logstore.config import Settings
    from logstore.store import LogStore

log = logging.getLogger("logstore.serve")


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help="run ingest, stream and compactor in one process")
    add_service_flags(parser)
    parser.set_defaults(run=run)


async def serve(settings: Settings, store: LogStore, bus: Bus) -> None:
    from compactor.sweep import Sweeper
    from compactor.worker import CompactionWorker
    from ingest.consumer import AmqpIngester
    from ingest.service import IngestService
    from logstore.bus.amqp import AmqpBus
    from logstore.cli.app import build_app
    from logstore.process import Worker, run_role
    from logstore.supervisor import Supervisor

    where = settings.store.store.split("?")[0]
    log.info("serving", extra={"listen": settings.http.listen, "store": where})
    service = IngestService(store, bus, settings.limits)
    workers: list[Worker] = [
        CompactionWorker(store, bus, settings.compact),
        Sweeper(store, bus, settings.compact),
    ]
    if isinstance(bus, AmqpBus):  # workers publish to RabbitMQ; the in-process bus carries no chunks
        workers.append(Supervisor("amqp_ingester", lambda: AmqpIngester(service, bus)))
    app = build_app(settings, store, bus, service=service)
    await run_role(app, settings.http, workers, stream=settings.stream)


def run(args: argparse.Namespace) -> int:
    return run_role_command(args, "serve", serve, amqp_only=False)

"""`logstore compact`: one of K compactors, taking finished jobs from the compaction queue, with
the sweep and the admin DELETE endpoint."""

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
    parser = commands.add_parser("compact", help="turn finished logs into compressed archives")
    add_service_flags(parser)
    parser.set_defaults(run=run)


async def compact(settings: Settings, store: LogStore, bus: Bus) -> None:
    from compactor.http import admin_router
    from compactor.sweep import Sweeper
    from compactor.worker import CompactionWorker
    from logstore.process import Worker, run_role
    from logstore.web.app import create_app
    from logstore.web.forwarded import TrustedProxies

    workers: list[Worker] = [
        CompactionWorker(store, bus, settings.compact),
        Sweeper(store, bus, settings.compact),
    ]
    app = create_app(
        [admin_router(store, settings.auth)],
        ready=store.ping,
        limits=settings.limits,
        client_address=TrustedProxies.of(settings.http),
    )
    await run_role(app, settings.http, workers)


def run(args: argparse.Namespace) -> int:
    return run_role_command(args, "compact", compact)

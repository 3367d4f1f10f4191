"""`logstore stream`: one of M streamers: downloads, metadata, live tails and the viewer,
following the ingesters' announcements on RabbitMQ."""

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
    parser = commands.add_parser("stream", help="serve downloads, live tails and the viewer")
    add_service_flags(parser)
    parser.set_defaults(run=run)


async def stream(settings: Settings, store: LogStore, bus: Bus) -> None:
    from logstore.process import run_role
    from logstore.web.app import create_app
    from logstore.web.forwarded import TrustedProxies
    from stream.routes import stream_routers

    app = create_app(
        stream_routers(settings, store, bus),
        ready=store.ping,
        limits=settings.limits,
        client_address=TrustedProxies.of(settings.http),
    )
    await run_role(app, settings.http, stream=settings.stream)


def run(args: argparse.Namespace) -> int:
    return run_role_command(args, "stream", stream)

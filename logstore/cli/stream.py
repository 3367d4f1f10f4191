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
    from stream.fanout import LiveHub
    from stream.http import stream_router
    from stream.jobs_list import jobs_router
    from stream.viewer import viewer_router
    from stream.ws import tail_router

    routers = [
        stream_router(store, settings.auth),
        tail_router(store, LiveHub(bus), settings.auth, settings.stream),
        viewer_router(),
        jobs_router(store, settings.auth),
    ]
    await run_role(create_app(routers, ready=store.ping), settings.http)


def run(args: argparse.Namespace) -> int:
    return run_role_command(args, "stream", stream)

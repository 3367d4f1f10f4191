"""What every role command shares: settings from flags, JSON logs, uvloop, and the store and bus
opened before the role starts and closed after it stops, whatever happens in between."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from logstore.cli.options import settings_from
from logstore.errors import ConfigError

if TYPE_CHECKING:
    from logstore.bus import Bus
    from logstore.config import Settings
    from logstore.store import LogStore

Role = Callable[["Settings", "LogStore", "Bus"], Awaitable[None]]


async def with_store_and_bus(settings: Settings, role: Role, amqp_only: bool) -> None:
    from logstore.bus import open_bus
    from logstore.bus.amqp import AmqpBus
    from logstore.store import open_store

    store = await open_store(settings.store.store)
    try:
        bus = await (AmqpBus.connect(settings.bus) if amqp_only else open_bus(settings.bus))
        try:
            await role(settings, store, bus)
        finally:
            await bus.close()
    finally:
        await store.close()


def run_role_command(args: argparse.Namespace, name: str, role: Role, amqp_only: bool = True) -> int:
    """Run `role` as the process `logstore <name>`; `amqp_only` roles refuse the in-process bus."""
    import uvloop

    from logstore.logs import configure_logging, url_password

    settings = settings_from(args)
    if amqp_only and not settings.bus.bus.startswith(("amqp://", "amqps://")):
        raise ConfigError(
            f"logstore {name} works with other processes through RabbitMQ: "
            "give --bus amqp://USER:PASS@HOST:PORT/VHOST (or use logstore serve on one machine)"
        )
    secrets = [*settings.auth.secret_values(), *(url_password(url) or "" for url in settings.bus.urls)]
    configure_logging(settings.logging.log_level, name, secrets)
    uvloop.run(with_store_and_bus(settings, role, amqp_only))
    return 0

"""The role commands: `logstore NAME` for each registered role (logstore/roles.py), and what they
and `logstore serve` share: settings from flags, JSON logs, uvloop, and the store and bus opened
before the roles start and closed after they stop, whatever happens in between."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from logstore.cli.service_flags import add_service_flags, settings_from
from logstore.errors import ConfigError
from logstore.roles import Role, registered

if TYPE_CHECKING:
    from logstore.config import Settings


def register(commands: Any) -> None:
    """A command per registered role, running it alone, on RabbitMQ; then the roles' other
    commands."""
    for role in registered():
        parser = commands.add_parser(role.name, help=role.help)
        add_service_flags(parser)
        parser.set_defaults(run=lambda args, role=role: run_roles_command(args, role.name, [role]))
    for role in registered():
        for add in role.commands:
            add(commands)


async def run_roles(settings: Settings, roles: Sequence[Role], amqp_only: bool) -> None:
    from logstore.bus import open_bus
    from logstore.bus.amqp import AmqpBus
    from logstore.process import run_role
    from logstore.roles import compose
    from logstore.store import open_store

    store = await open_store(settings.store.store)
    try:
        bus = await (AmqpBus.connect(settings.bus) if amqp_only else open_bus(settings.bus))
        try:
            app, workers = compose(settings, store, bus, roles)
            await run_role(app, settings.http, workers, stream=settings.stream)
        finally:
            await bus.close()
    finally:
        await store.close()


def run_roles_command(
    args: argparse.Namespace, name: str, roles: Sequence[Role], amqp_only: bool = True
) -> int:
    """Run `roles` as the process `logstore <name>`; `amqp_only` refuses the in-process bus (a
    role alone works with other processes)."""
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
    if name == "serve":
        import logging

        where = settings.store.store.split("?")[0]
        logging.getLogger("logstore.serve").info(
            "serving",
            extra={"listen": settings.http.listen, "store": where, "roles": [r.name for r in roles]},
        )
    uvloop.run(run_roles(settings, roles, amqp_only))
    return 0

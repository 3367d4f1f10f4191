"""`logstore serve`: every registered role in one process (logstore/roles.py), on the embedded
default (SQLite, in-process bus) or on the servers the flags name: given RabbitMQ, its ingest
role also consumes the chunks workers publish."""

from __future__ import annotations

import argparse
from typing import Any

from logstore.cli.role import run_roles_command
from logstore.cli.service_flags import add_service_flags
from logstore.roles import registered


def register(commands: Any) -> None:
    names = ", ".join(role.name for role in registered())
    parser = commands.add_parser("serve", help=f"run every role in one process ({names})")
    add_service_flags(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_roles_command(args, "serve", registered(), amqp_only=False)

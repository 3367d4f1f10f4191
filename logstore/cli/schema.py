"""`logstore schema apply`: create or update the Cassandra schema (idempotent)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from logstore.cli.service_flags import settings_from
from logstore.errors import ConfigError


def register(commands: Any) -> None:
    parser = commands.add_parser("schema", help="manage the Cassandra schema")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    apply = actions.add_parser("apply", help="create the keyspace and tables; safe to run again")
    apply.add_argument("--store", help="cassandra://HOST[:PORT][,HOST...]/KEYSPACE?replication=N")
    apply.set_defaults(run=run_apply)


def run_apply(args: argparse.Namespace) -> int:
    url = settings_from(args).store.store
    if not url.startswith("cassandra://"):
        raise ConfigError(f"schema apply needs a cassandra:// store, not {url!r} (SQLite needs none)")
    from logstore.store.cassandra.schema import apply_schema
    from logstore.store.cassandra.url import parse_cassandra_url

    target = parse_cassandra_url(url)
    applied = asyncio.run(apply_schema(target))
    if applied:
        print(f"keyspace {target.keyspace}: applied schema version(s) {', '.join(map(str, applied))}")
    else:
        print(f"keyspace {target.keyspace}: schema already current")
    return 0

"""`logstore purge --older-than 30d`: remove old jobs for good, never a running one."""

from __future__ import annotations

import argparse
import asyncio
import re
from typing import Any

from logstore.cli.service_flags import settings_from
from logstore.errors import ConfigError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_age(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", text.strip())
    if not match:
        raise ConfigError(f"--older-than {text!r}: use a number and a unit, for example 30d, 12h or 90m")
    return float(match[1]) * UNITS[match[2]]


def register(commands: Any) -> None:
    parser = commands.add_parser("purge", help="delete jobs older than an age, for good (never running ones)")
    parser.add_argument("--older-than", required=True, help="age such as 30d, 12h, 90m")
    parser.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
    parser.add_argument("--store", help="the store to purge (LOGSTORE_STORE)")
    parser.set_defaults(run=run)


async def _purge(url: str, older_than_s: float, dry_run: bool) -> tuple[int, int]:
    from compactor.retention import purge
    from logstore.store import open_store

    store = await open_store(url)
    try:
        report = await purge(store, older_than_s, dry_run)
    finally:
        await store.close()
    return report.deleted, report.kept_running


def run(args: argparse.Namespace) -> int:
    age = parse_age(args.older_than)
    url = settings_from(args).store.store
    deleted, running = asyncio.run(_purge(url, age, args.dry_run))
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb} {deleted} job(s) older than {args.older_than}; kept {running} running job(s)")
    return 0

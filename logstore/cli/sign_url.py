"""`logstore sign-url JOB --expires-in 3600`: print a signed, expiring URL of a job's viewer page
(and, with --json, its log, status and tail URLs). Computed here with the signing key
(`--url-signing-key` / LOGSTORE_URL_SIGNING_KEY): no server is asked."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from logstore import url_signing
from logstore.chunk import validate_job_id
from logstore.cli.options import DEFAULT_SERVER
from logstore.errors import ConfigError, InvalidInput


def register(commands: Any) -> None:
    parser = commands.add_parser("sign-url", help="print a signed, expiring read URL of one job")
    parser.add_argument("job", help="job id")
    parser.add_argument(
        "--expires-in", type=int, default=3600, help="seconds the URL is valid (default 3600)"
    )
    parser.add_argument(
        "--server",
        default=os.environ.get("LOGSTORE_SERVER", DEFAULT_SERVER),
        help=f"base URL the links point to (LOGSTORE_SERVER; default {DEFAULT_SERVER})",
    )
    parser.add_argument("--url-signing-key", help="the servers' signing key (LOGSTORE_URL_SIGNING_KEY)")
    parser.add_argument("--json", action="store_true", help="print every URL as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from logstore.config import AuthSettings, describe

    if not 1 <= args.expires_in <= url_signing.MAX_EXPIRES_IN_S:
        raise ConfigError(f"--expires-in: use 1..{url_signing.MAX_EXPIRES_IN_S} seconds")
    try:
        job_id = validate_job_id(args.job)
    except InvalidInput as exc:
        raise ConfigError(str(exc)) from exc
    given = {"url_signing_key": args.url_signing_key} if args.url_signing_key else {}
    try:
        key = AuthSettings(**given).url_signing_key
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from exc  # names the flag, never the value
    if key is None:
        raise ConfigError("no signing key: give --url-signing-key or set LOGSTORE_URL_SIGNING_KEY")
    expires = url_signing.expiry(args.expires_in)
    urls = url_signing.urls_of(args.server, key.get_secret_value().encode(), job_id, expires)
    print(json.dumps(urls, indent=2) if args.json else urls["viewer_url"])
    return 0

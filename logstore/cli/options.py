"""Flags shared by the client commands. The service commands' flags are in service_flags.py."""

from __future__ import annotations

import argparse
import os

DEFAULT_SERVER = "http://127.0.0.1:8080"


def add_client_flags(parser: argparse.ArgumentParser, token_env: str) -> None:
    parser.add_argument(
        "--server",
        default=os.environ.get("LOGSTORE_SERVER", DEFAULT_SERVER),
        help=f"logstore base URL (LOGSTORE_SERVER; default {DEFAULT_SERVER})",
    )
    parser.add_argument("--token", default=os.environ.get(token_env), help=f"bearer token ({token_env})")


def job_id_arg(value: str) -> str:
    """An argparse type: a valid job id, or a usage error (exit 2) before anything is sent."""
    from logstore.chunk import validate_job_id
    from logstore.errors import InvalidJobId

    try:
        return validate_job_id(value)
    except InvalidJobId as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc

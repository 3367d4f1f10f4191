"""Flags shared by several commands; each maps to a settings field of the same name."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logstore.config import Settings

DEFAULT_SERVER = "http://127.0.0.1:8080"


def add_service_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("service configuration (flags win over LOGSTORE_* variables)")
    group.add_argument("--store", help="sqlite:///PATH or cassandra://HOST[:PORT][,HOST...]/KEYSPACE")
    group.add_argument("--bus", help="memory:// or amqp://USER:PASS@HOST:PORT/VHOST")
    group.add_argument("--listen", help="HOST:PORT to serve HTTP on (default 127.0.0.1:8080)")
    group.add_argument(
        "--trusted-proxies", help="addresses/CIDRs of proxies whose X-Forwarded-For / Forwarded is trusted"
    )
    group.add_argument(
        "--client-address-header",
        choices=("none", "x-forwarded-for", "forwarded"),
        help="the one header --trusted-proxies name the client in (default none: the TCP peer)",
    )
    group.add_argument(
        "--client-address-hops",
        type=int,
        help="0: nearest untrusted address of that header (default); N: the Nth from the right",
    )
    group.add_argument("--write-token", help="bearer token required for writes")
    group.add_argument("--read-token", help="bearer token required for reads")
    group.add_argument("--admin-token", help="bearer token required for delete and purge")
    group.add_argument("--url-signing-key", help="HMAC key of signed read URLs (?expires=&signature=)")
    group.add_argument("--rate-limit", type=float, help="HTTP requests/s per client address (0 = off)")
    group.add_argument("--rate-burst", type=int, help="requests a client may send at once (default 20000)")
    group.add_argument("--max-chunk-bytes", type=int, help="largest chunk accepted (default 1 MiB)")
    group.add_argument("--max-log-bytes", type=int, help="largest log accepted (default 100 MiB)")
    group.add_argument("--max-viewers", type=int, help="websocket viewers per process (default 20000)")
    group.add_argument(
        "--max-viewers-per-client", type=int, help="websocket viewers per client (default 2000)"
    )
    group.add_argument("--zstd-level", type=int, help="zstd level of archives (default 6)")
    group.add_argument("--zstd-dictionary", help="dictionary file from `logstore dict train`")
    group.add_argument("--grace-s", type=float, help="wait for missing chunks of a finished job (default 5)")
    group.add_argument("--lease-s", type=float, help="compaction lease in seconds (default 120)")
    group.add_argument("--abandon-after-s", type=float, help="archive a job with holes after this idle time")
    group.add_argument(
        "--abandon-running-after-s",
        type=float,
        help="archive a job that never sent its final chunk after this idle time (default 6 days)",
    )
    group.add_argument("--error-patterns", help="JSON file of extra rules for the viewer's jump to the error")
    group.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR")


def settings_from(args: argparse.Namespace) -> Settings:
    from logstore.config import Settings  # pydantic is slow to import; client commands skip it

    names = (
        "store", "bus", "listen", "trusted_proxies", "client_address_header", "client_address_hops",
        "write_token", "read_token", "admin_token", "url_signing_key",
        "rate_limit", "rate_burst",
        "max_chunk_bytes", "max_log_bytes", "max_viewers", "max_viewers_per_client", "log_level",
        "zstd_level", "zstd_dictionary", "grace_s", "lease_s", "abandon_after_s", "abandon_running_after_s",
        "error_patterns",
    )  # fmt: skip
    overrides: dict[str, Any] = {name: getattr(args, name, None) for name in names}
    return Settings(overrides)


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

"""Parse `cassandra://HOST[:PORT][,HOST[:PORT]...]/KEYSPACE?consistency=...&replication=...`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from logstore.errors import ConfigError

DEFAULT_PORT = 9042
DRIVERS = ("cassandra-driver", "acsylla")
CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "LOCAL_QUORUM", "EACH_QUORUM", "ALL", "LOCAL_ONE")
_KEYSPACE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")


@dataclass(frozen=True)
class CassandraTarget:
    hosts: tuple[str, ...]
    port: int
    keyspace: str
    consistency: str = "LOCAL_QUORUM"  # QUORUM of the local data centre; ONE on a single node
    replication: int = 1  # replication factor used when `schema apply` creates the keyspace
    timeout_s: float = 5.0  # per request: seconds, not minutes (a hung node must not hang us)
    connect_timeout_s: float = 5.0
    # A backstop, not the way chunks normally go (the compactor removes them once archived): a
    # chunk left behind by a lost compaction request expires after this many seconds. 0: never.
    chunk_ttl_s: int = 60 * 86_400
    # the driver of the write path (write_statements.py): the Python driver, or acsylla (C++)
    driver: str = "acsylla"


def parse_cassandra_url(url: str) -> CassandraTarget:
    parts = urlsplit(url)
    if parts.scheme != "cassandra" or not parts.netloc:
        raise ConfigError(f"store URL {url!r} is not cassandra://HOST[:PORT][,HOST...]/KEYSPACE")
    hosts: list[str] = []
    ports: set[int] = set()
    for item in parts.netloc.split(","):
        host, _, port = item.strip().partition(":")
        if not host:
            raise ConfigError(f"store URL {url!r} has an empty host")
        hosts.append(host)
        try:
            ports.add(int(port) if port else DEFAULT_PORT)
        except ValueError as exc:
            raise ConfigError(f"store URL {url!r}: port {port!r} is not a number") from exc
    if len(ports) != 1:
        raise ConfigError(f"store URL {url!r}: every contact point must use the same port")
    keyspace = parts.path.strip("/") or "logstore"
    if not _KEYSPACE.fullmatch(keyspace):
        raise ConfigError(f"keyspace {keyspace!r} must be a letter then letters, digits or _")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    consistency = query.pop("consistency", "LOCAL_QUORUM").upper()
    if consistency not in CONSISTENCY_LEVELS:
        raise ConfigError(f"consistency {consistency!r}: use one of {', '.join(CONSISTENCY_LEVELS)}")
    try:
        replication = int(query.pop("replication", "1"))
        timeout_s = float(query.pop("timeout", "5"))
        connect_timeout_s = float(query.pop("connect_timeout", "5"))
        chunk_ttl_s = int(query.pop("chunk_ttl", str(60 * 86_400)))
    except ValueError as exc:
        raise ConfigError(f"store URL {url!r}: {exc}") from exc
    driver = query.pop("driver", "acsylla")
    if driver not in DRIVERS:
        raise ConfigError(f"driver {driver!r}: use one of {', '.join(DRIVERS)}")
    if replication < 1:
        raise ConfigError("replication must be at least 1")
    if query:
        raise ConfigError(f"store URL {url!r}: unknown option(s) {', '.join(sorted(query))}")
    return CassandraTarget(
        hosts=tuple(hosts),
        port=ports.pop(),
        keyspace=keyspace,
        consistency=consistency,
        replication=replication,
        timeout_s=timeout_s,
        connect_timeout_s=connect_timeout_s,
        chunk_ttl_s=chunk_ttl_s,
        driver=driver,
    )

"""Configuration: one settings class per concern, composed by `Settings`.

Every field is read from an environment variable with the `LOGSTORE_` prefix
(`LOGSTORE_MAX_CHUNK_BYTES`); a field marked `json_schema_extra=flag(...)` is also a flag of the
service commands (`--max-chunk-bytes`, logstore/cli/service_flags.py), which wins over the
environment, and a row of README.md's configuration table (logstore/config_table.py). Values are
validated at start with messages a person can act on.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar, Literal, get_args
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.config import JsonDict
from pydantic_settings import BaseSettings, SettingsConfigDict

from logstore.errors import ConfigError

MiB = 1024 * 1024
# A job that never sent its final chunk is given up on only after this much silence: longer than
# the longest job the common CI services allow (GitHub Actions' self-hosted runners: 5 days;
# GitLab, Buildkite and Travis CI cap jobs at hours), so a quiet build step is never mistaken for
# a dead worker; well inside the 60-day chunk TTL. A late chunk reopens the job anyway.
ABANDON_RUNNING_AFTER_S = 6 * 86_400.0
_COMMON = SettingsConfigDict(env_prefix="LOGSTORE_", extra="ignore", frozen=True)
ClientAddressHeader = Literal["none", "x-forwarded-for", "forwarded"]


def flag(metavar: str | None = None) -> JsonDict:
    """Mark a field as a flag of the service commands, `--field-name METAVAR` (the metavar defaults
    to the choices of a Literal field); unmarked fields are read from LOGSTORE_* variables only."""
    return {"flag": True} if metavar is None else {"flag": True, "metavar": metavar}


class StoreSettings(BaseSettings):
    model_config = _COMMON
    store: str = Field(
        "sqlite:///./logstore-data/logstore.db",
        description="where logs are kept: sqlite:///PATH (one machine) or "
        "cassandra://HOST[:PORT][,HOST...]/KEYSPACE?consistency=...",
        json_schema_extra=flag("URL"),
    )

    @field_validator("store")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "cassandra://")):
            raise ValueError("use sqlite:///PATH or cassandra://HOST[:PORT][,HOST...]/KEYSPACE")
        return value


class BusSettings(BaseSettings):
    model_config = _COMMON
    bus: str = Field(
        "memory://",
        description="memory:// (one process) or amqp://USER:PASS@HOST:PORT/VHOST; several brokers of "
        "one cluster: their URLs comma-separated, tried in turn when a connection fails",
        json_schema_extra=flag("URL[,URL...]"),
    )
    chunks_exchange: str = Field("logstore.chunks", description="exchange workers publish chunks to")
    ingest_queue: str = Field("logstore.ingest", description="durable quorum queue ingesters consume")
    dead_letter_queue: str = Field("logstore.ingest.dead", description="where refused messages go")
    live_exchange: str = Field("logstore.live", description="exchange of stored-chunk announcements")
    compact_queue: str = Field("logstore.compact", description="durable queue of finished jobs")
    prefetch: int = Field(400, ge=1, description="unacknowledged messages one ingester may hold")
    max_bytes_in_flight: int = Field(
        64 * MiB,
        ge=1,
        description="message bytes one ingester may hold unacknowledged: past it, it takes no more "
        "deliveries until some are stored (prefetch counts messages, not bytes)",
    )
    batch_size: int = Field(200, ge=1, description="chunks written to the store per batch, at most")
    batch_linger_ms: float = Field(
        5.0, ge=0, description="a partial batch waits this long (ms), and while another batch is stored"
    )
    handler_attempts: int = Field(
        5, ge=1, description="deliveries of a message whose handling fails before it is dead-lettered"
    )
    delivery_limit: int = Field(
        50, ge=1, description="the ingest queue's x-delivery-limit: the broker dead-letters past it"
    )
    hold_s: float = Field(
        1500.0,
        gt=0,
        description="while the store cannot write, an ingester holds a message unacknowledged this long "
        "(seconds from its delivery), then puts a fresh copy on the queue, uncounted: keep it below "
        "RabbitMQ's consumer_timeout (30 min by default), past which the broker closes the channel",
    )
    store_probe_s: float = Field(
        1.0, gt=0, description="a paused ingester's first wait (s) before asking the store again; doubles"
    )
    store_probe_max_s: float = Field(
        10.0, gt=0, description="a paused ingester's longest wait (s) between two questions to the store"
    )

    @field_validator("bus")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        broker_urls(value)
        return value

    @property
    def urls(self) -> list[str]:
        """The broker URLs of `bus`, in the order given (one for memory://)."""
        return broker_urls(self.bus)

    NAMES: ClassVar[tuple[str, ...]] = (
        "chunks_exchange",
        "ingest_queue",
        "dead_letter_queue",
        "live_exchange",
        "compact_queue",
    )

    def namespaced(self, prefix: str) -> BusSettings:
        """The same broker with every exchange and queue name prefixed: isolated runs side by side."""
        return self.model_copy(update={name: f"{prefix}.{getattr(self, name)}" for name in self.NAMES})

    def as_env(self) -> dict[str, str]:
        """The LOGSTORE_* variables that make a child process use these names."""
        fields = ("bus", *self.NAMES)
        return {f"LOGSTORE_{name.upper()}": str(getattr(self, name)) for name in fields}


def broker_urls(value: str) -> list[str]:
    """Split a --bus value into its URLs: memory://, or one or more comma-separated amqp(s) URLs.
    Raises ValueError naming the first bad item."""
    if value.startswith("memory://"):
        if "," in value:
            raise ValueError("memory:// is one process's bus: it takes no other URLs")
        return [value]
    items = [item.strip() for item in value.split(",")]
    for number, item in enumerate(items, 1):
        where = f"URL {number} of {len(items)}" if len(items) > 1 else "the URL"
        if not item:
            raise ValueError(f"{where} is empty (a stray comma?); separate broker URLs with one comma")
        if not item.startswith(("amqp://", "amqps://")):
            shown = item.rpartition("@")[2]  # never echo a password
            raise ValueError(f"{where} ({shown!r}): use memory:// or amqp://USER:PASS@HOST:PORT/VHOST")
        try:
            parts = urlsplit(item)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if not parts.hostname:
            raise ValueError(f"{where} has no host: use amqp://USER:PASS@HOST:PORT/VHOST")
        if port == 0:
            raise ValueError(f"{where}: port 0 is not a broker's port")
    if len(set(items)) != len(items):
        raise ValueError("a broker URL is given twice; list each node once")
    return items


class HttpSettings(BaseSettings):
    model_config = _COMMON
    listen: str = Field(
        "127.0.0.1:8080",
        description="HOST:PORT the HTTP server listens on",
        json_schema_extra=flag("HOST:PORT"),
    )
    trusted_proxies: str = Field(
        "",
        description="comma-separated addresses or CIDRs of proxies whose X-Forwarded-For / Forwarded "
        "headers name the client; unset = trust no proxy, the client is the TCP peer",
        json_schema_extra=flag("LIST"),
    )

    client_address_header: ClientAddressHeader = Field(
        "none",
        validate_default=True,
        description="the one header a trusted proxy names the client in: none (the client is the TCP "
        "peer), x-forwarded-for or forwarded, required with --trusted-proxies; the other header is "
        "never read",
        json_schema_extra=flag(),
    )
    client_address_hops: int = Field(
        0,
        ge=0,
        description="0: the client is the nearest address of the header that is not a trusted proxy; "
        "N: exactly N proxies append to the header, the client is the Nth address from the right",
        json_schema_extra=flag("N"),
    )

    @field_validator("client_address_header", mode="before")
    @classmethod
    def _known_header(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower()
        if value not in get_args(ClientAddressHeader):
            raise ValueError("use none, x-forwarded-for or forwarded: the header your proxy sets")
        return value

    @field_validator("client_address_header")
    @classmethod
    def _one_header(cls, value: ClientAddressHeader, info: ValidationInfo) -> ClientAddressHeader:
        proxies = info.data.get("trusted_proxies")
        if proxies is None:
            return value  # trusted_proxies itself is invalid: that error is reported
        if value == "none" and _split(proxies):
            raise ValueError(
                "--trusted-proxies is set: name the header those proxies set "
                "(x-forwarded-for or forwarded); the other one is never read"
            )
        if value != "none" and not _split(proxies):
            raise ValueError("a header is read only from --trusted-proxies: list your proxies")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for entry in _split(value):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an address or CIDR; use for example 10.0.0.0/8,192.0.2.7"
                ) from None
        return value

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in _split(self.trusted_proxies))

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("use HOST:PORT, for example 127.0.0.1:8080")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class AuthSettings(BaseSettings):
    model_config = _COMMON
    write_token: SecretStr | None = Field(
        None, description="bearer token for writes; unset = open", json_schema_extra=flag("TOKEN")
    )
    read_token: SecretStr | None = Field(
        None, description="bearer token for reads; unset = open", json_schema_extra=flag("TOKEN")
    )
    admin_token: SecretStr | None = Field(
        None, description="bearer token for delete and purge", json_schema_extra=flag("TOKEN")
    )
    url_signing_key: SecretStr | None = Field(
        None,
        description="HMAC key of signed read URLs (?expires=&signature=); unset = none accepted",
        json_schema_extra=flag("KEY"),
    )

    @field_validator("url_signing_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("use at least 16 characters (for example: openssl rand -hex 32)")
        return value

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log redactor."""
        given = (self.write_token, self.read_token, self.admin_token, self.url_signing_key)
        return [value.get_secret_value() for value in given if value is not None]


class LimitsSettings(BaseSettings):
    model_config = _COMMON
    max_chunk_bytes: int = Field(
        1 * MiB, ge=1, description="largest chunk accepted, in bytes", json_schema_extra=flag("BYTES")
    )
    max_log_bytes: int = Field(
        100 * MiB, ge=1, description="largest log accepted, in bytes", json_schema_extra=flag("BYTES")
    )
    rate_limit: float = Field(
        10_000.0,
        ge=0,
        description="HTTP requests per second per client address; 0 = no limit",
        json_schema_extra=flag("PER_S"),
    )
    rate_burst: int = Field(
        20_000,
        ge=1,
        description="requests a client may send at once above the rate",
        json_schema_extra=flag("N"),
    )


class StreamSettings(BaseSettings):
    model_config = _COMMON
    ws_ping_interval_s: float = Field(
        20.0, ge=0, description="websocket keepalive: ping each viewer this often; 0 = never"
    )
    ws_ping_timeout_s: float = Field(
        20.0, gt=0, description="websocket keepalive: close a viewer that answers no ping this long"
    )
    max_viewers: int = Field(
        20_000, ge=1, description="websocket viewers per stream process", json_schema_extra=flag("N")
    )
    max_viewers_per_client: int = Field(
        2_000, ge=1, description="websocket viewers per client address", json_schema_extra=flag("N")
    )
    send_timeout_s: float = Field(
        30.0, gt=0, description="close a viewer whose socket takes no data this long"
    )
    error_patterns: str | None = Field(
        None,
        description="JSON file of extra rules for the viewer's jump to the first error "
        "(docs/search.md); unset = the built-in rules only",
        json_schema_extra=flag("FILE"),
    )


class CompactSettings(BaseSettings):
    model_config = _COMMON
    zstd_level: int = Field(
        6, ge=1, le=22, description="zstd compression level of archives", json_schema_extra=flag("N")
    )
    zstd_dictionary: str | None = Field(
        None,
        description="a dictionary from `logstore dict train`, used for jobs it compresses better",
        json_schema_extra=flag("FILE"),
    )
    segment_bytes: int = Field(
        1024 * 1024, ge=1024, description="raw bytes per archive segment (whole chunks)"
    )
    grace_s: float = Field(
        5.0,
        ge=0,
        description="how long (s) a finished job may wait for missing chunks",
        json_schema_extra=flag("S"),
    )
    abandon_after_s: float = Field(
        600.0,
        gt=0,
        description="a finished job with holes and no write for this long (s) is archived as abandoned",
        json_schema_extra=flag("S"),
    )
    abandon_running_after_s: float = Field(
        ABANDON_RUNNING_AFTER_S,
        gt=0,
        description="a job without its final chunk and no write for this long (s) is archived as abandoned",
        json_schema_extra=flag("S"),
    )
    lease_s: float = Field(
        120.0,
        ge=1,
        description="compaction lease (s); renewed while a compaction runs",
        json_schema_extra=flag("S"),
    )
    retry_s: float = Field(5.0, gt=0, description="delay before a job that was not ready is tried again")
    compactors: int = Field(2, ge=1, description="jobs compacted at once per process")
    sweep_interval_s: float = Field(
        300.0,
        gt=0,
        description="how often the sweep looks at every unarchived job, however old",
    )


class LoggingSettings(BaseSettings):
    model_config = _COMMON
    log_level: str = Field(
        "INFO", description="DEBUG, INFO, WARNING or ERROR", json_schema_extra=flag("LEVEL")
    )

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("use DEBUG, INFO, WARNING or ERROR")
        return value.upper()


COMPONENTS: dict[str, type[BaseSettings]] = {
    "store": StoreSettings,
    "bus": BusSettings,
    "http": HttpSettings,
    "auth": AuthSettings,
    "limits": LimitsSettings,
    "stream": StreamSettings,
    "compact": CompactSettings,
    "logging": LoggingSettings,
}


class Settings:
    """The root: composes the component settings, one attribute per entry of COMPONENTS."""

    store: StoreSettings
    bus: BusSettings
    http: HttpSettings
    auth: AuthSettings
    limits: LimitsSettings
    stream: StreamSettings
    compact: CompactSettings
    logging: LoggingSettings

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        try:
            for name, model in COMPONENTS.items():
                setattr(self, name, model(**_pick(model, given)))
        except ValidationError as exc:
            raise ConfigError(describe(exc)) from exc


def _split(value: str) -> list[str]:
    return [entry.strip() for entry in value.split(",") if entry.strip()]


def _pick(model: type[BaseSettings], given: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in given.items() if k in model.model_fields}


def describe(exc: ValidationError) -> str:
    """Turn pydantic's report into lines like `--max-chunk-bytes (LOGSTORE_MAX_CHUNK_BYTES): ...`."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        flag = "--" + name.replace("_", "-")
        lines.append(f"{flag} (LOGSTORE_{name.upper()}): {error['msg']}")
    return "invalid configuration: " + "; ".join(lines)

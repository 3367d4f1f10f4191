"""Behind a proxy: the one configured header (X-Forwarded-For or Forwarded) names the client only
when the TCP peer is a configured proxy; the other header is never read, and a spoofed header from
anyone else changes nothing. The rate limit, the per-client viewer limit and the logs all key on
the address found."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from benchmarks.harness.processes import serving
from benchmarks.harness.viewer import tail_url
from logstore.bus.memory import MemoryBus
from logstore.config import Settings
from logstore.errors import ConfigError
from logstore.roles import build_app
from logstore.store.sqlite import SQLiteStore
from logstore.web.forwarded import TrustedProxies

NETWORKS = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]
PROXIES = TrustedProxies(NETWORKS, "x-forwarded-for")
RFC7239 = TrustedProxies(NETWORKS, "forwarded")


def headers(**given: str) -> list[tuple[bytes, bytes]]:
    return [(name.replace("_", "-").encode(), value.encode()) for name, value in given.items()]


def test_an_untrusted_peer_is_the_client_whatever_it_claims() -> None:
    spoofed = headers(x_forwarded_for="1.2.3.4", forwarded="for=5.6.7.8")
    assert PROXIES.client("192.0.2.9", spoofed) == "192.0.2.9"


def test_a_trusted_proxy_names_the_nearest_untrusted_hop() -> None:
    assert PROXIES.client("10.0.0.1", headers(x_forwarded_for="203.0.113.5")) == "203.0.113.5"
    # the client wrote 1.2.3.4 itself; the proxy appended the peer it really saw
    chain = headers(x_forwarded_for="1.2.3.4, 203.0.113.5, 10.1.1.1")
    assert PROXIES.client("10.0.0.1", chain) == "203.0.113.5"
    assert PROXIES.client("10.0.0.1", headers(x_forwarded_for="10.2.2.2")) == "10.2.2.2"
    assert PROXIES.client("10.0.0.1", []) == "10.0.0.1"
    assert PROXIES.client("::ffff:10.0.0.1", headers(x_forwarded_for="203.0.113.5")) == "203.0.113.5"


def test_only_the_configured_header_is_read() -> None:
    # the proxy sets X-Forwarded-For and passes the client's own Forwarded through untouched
    both = headers(x_forwarded_for="198.51.100.1", forwarded='for="203.0.113.7:4711";proto=https')
    assert PROXIES.client("10.0.0.1", both) == "198.51.100.1"
    assert PROXIES.client("10.0.0.1", headers(forwarded="for=203.0.113.7")) == "10.0.0.1"
    # and the other way round: behind a proxy that writes Forwarded, X-Forwarded-For is the client's
    assert RFC7239.client("10.0.0.1", both) == "203.0.113.7"
    assert RFC7239.client("10.0.0.1", headers(x_forwarded_for="198.51.100.1")) == "10.0.0.1"
    # none (the default) reads no header even from a listed proxy
    assert TrustedProxies(NETWORKS).client("10.0.0.1", both) == "10.0.0.1"


def test_forwarded_forms_are_read() -> None:
    ipv6 = headers(forwarded='for=192.0.2.60, for="[2001:db8:cafe::17]:4711"')
    assert RFC7239.client("10.0.0.1", ipv6) == "192.0.2.60"  # 2001:db8:: is a trusted proxy too
    assert RFC7239.client("10.0.0.1", headers(forwarded="for=unknown")) == "10.0.0.1"


def test_a_hop_count_takes_the_nth_address_from_the_right() -> None:
    two = TrustedProxies(NETWORKS, "x-forwarded-for", hops=2)  # a CDN, then our balancer
    chain = headers(x_forwarded_for="1.2.3.4, 203.0.113.5, 198.51.100.9")  # 1.2.3.4 forged
    assert two.client("10.0.0.1", chain) == "203.0.113.5"
    assert two.client("10.0.0.1", headers(x_forwarded_for="203.0.113.5")) == "203.0.113.5"
    assert two.client("10.0.0.1", []) == "10.0.0.1"
    assert two.client("192.0.2.1", chain) == "192.0.2.1"  # not from a trusted proxy: the peer


def test_trusted_proxies_are_validated() -> None:
    given = {"trusted_proxies": "10.0.0.0/8, 192.0.2.7", "client_address_header": "X-Forwarded-For"}
    assert len(Settings(given).http.proxy_networks) == 2
    assert Settings(given).http.client_address_header == "x-forwarded-for"
    with pytest.raises(ConfigError, match="--trusted-proxies"):
        Settings({"trusted_proxies": "10.0.0.0/8,proxy.example", "client_address_header": "forwarded"})
    with pytest.raises(ConfigError, match=r"--client-address-header.*name the header"):
        Settings({"trusted_proxies": "10.0.0.0/8"})  # which header? never guessed
    with pytest.raises(ConfigError, match=r"--client-address-header.*list your proxies"):
        Settings({"client_address_header": "forwarded"})
    with pytest.raises(ConfigError, match="--client-address-header"):
        Settings({"trusted_proxies": "10.0.0.0/8", "client_address_header": "x-real-ip"})
    assert Settings().http.client_address_header == "none"  # the default: the TCP peer


def client_from(peer: str, store: SQLiteStore, **overrides: object) -> httpx.AsyncClient:
    settings = Settings({"store": "sqlite:///unused", **overrides})
    transport = httpx.ASGITransport(app=build_app(settings, store, MemoryBus()), client=(peer, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_the_rate_limit_keys_on_the_forwarded_client(sqlite_store: SQLiteStore, job_id: str) -> None:
    limits = {"rate_limit": 0.001, "rate_burst": 1}
    url = f"/v1/jobs/{job_id}"

    async def status(client: httpx.AsyncClient, forwarded_for: str) -> int:
        return (await client.get(url, headers={"X-Forwarded-For": forwarded_for})).status_code

    proxied = {"trusted_proxies": "10.0.0.0/8", "client_address_header": "x-forwarded-for", **limits}
    async with client_from("10.0.0.1", sqlite_store, **proxied) as client:
        assert await status(client, "203.0.113.1") == 404
        assert await status(client, "203.0.113.1") == 429
        assert await status(client, "203.0.113.2") == 404  # another client behind the same proxy
    # the same headers from a peer that is not a trusted proxy are ignored: it is one client
    async with client_from("192.0.2.1", sqlite_store, **proxied) as client:
        assert await status(client, "203.0.113.1") == 404
        assert await status(client, "203.0.113.2") == 429


async def test_http_requests_are_counted_by_route_and_status(sqlite_store: SQLiteStore, job_id: str) -> None:
    async with client_from("192.0.2.1", sqlite_store) as client:
        assert (await client.put(f"/v1/jobs/{job_id}/chunks/0", content=b"x")).status_code == 201
        assert (await client.get(f"/v1/jobs/{job_id}-missing")).status_code == 404
        page = (await client.get("/metrics")).text
    put = 'logstore_http_requests_total{code="201",method="PUT",route="/v1/jobs/{job_id}/chunks/{clock}"}'
    assert put in page
    assert 'logstore_http_requests_total{code="404",method="GET",route="/v1/jobs/{job_id}"}' in page
    assert job_id not in page  # routes are templates: the series stay bounded


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`logstore serve` trusting 127.0.0.1 (where the tests connect from) as its proxy."""
    workdir: Path = tmp_path_factory.mktemp("proxied")
    extra: tuple[str, ...] = ("--trusted-proxies", "127.0.0.1", "--client-address-header", "x-forwarded-for")
    extra += ("--max-viewers-per-client", "1")
    with serving(f"sqlite:///{workdir}/db.sqlite", workdir, *extra) as base:
        yield base, workdir / f"serve-{base.rsplit(':', 1)[1]}.log"


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`logstore serve` trusting no proxy."""
    workdir: Path = tmp_path_factory.mktemp("direct")
    with serving(f"sqlite:///{workdir}/db.sqlite", workdir, "--max-viewers-per-client", "1") as base:
        yield base


async def put_line(base: str, job_id: str) -> None:
    async with httpx.AsyncClient() as client:
        (await client.put(f"{base}/v1/jobs/{job_id}/chunks/0", content=b"line\n")).raise_for_status()


async def close_code(url: str, forwarded_for: str) -> int | None:
    """The close code if the viewer is refused, None if it is admitted and gets the first chunk."""
    async with connect(url, additional_headers={"X-Forwarded-For": forwarded_for}) as socket:
        try:
            await socket.recv(decode=False)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return None


async def test_the_viewer_limit_uses_the_forwarded_client_from_a_trusted_proxy(
    behind_proxy: tuple[str, Path], job_id: str
) -> None:
    base, log_path = behind_proxy
    url = tail_url(base, job_id, 0)
    await put_line(base, job_id)
    async with connect(url, additional_headers={"X-Forwarded-For": "203.0.113.1"}) as first:
        assert await first.recv(decode=False) == (0).to_bytes(8, "big") + b"line\n"
        assert await close_code(url, "203.0.113.1") == 4429  # the same client, a second viewer
        assert await close_code(url, "203.0.113.2") is None  # another client behind the proxy
    refusals = [json.loads(line) for line in log_path.read_text().splitlines() if "viewer refused" in line]
    assert [(line["client"], line["job_id"]) for line in refusals] == [("203.0.113.1", job_id)]


async def test_a_spoofed_header_from_an_untrusted_peer_changes_nothing(direct: str, job_id: str) -> None:
    url = tail_url(direct, job_id, 0)
    await put_line(direct, job_id)
    async with connect(url, additional_headers={"X-Forwarded-For": "203.0.113.1"}) as first:
        await first.recv(decode=False)
        assert await close_code(url, "203.0.113.2") == 4429  # still the one peer 127.0.0.1


@pytest.fixture(scope="module")
def strict_behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`logstore serve` behind an X-Forwarded-For proxy (127.0.0.1), 3 requests per client."""
    workdir: Path = tmp_path_factory.mktemp("proxied-strict")
    extra: tuple[str, ...] = ("--trusted-proxies", "127.0.0.1", "--client-address-header", "x-forwarded-for")
    extra += ("--rate-limit", "0.001", "--rate-burst", "3", "--log-level", "DEBUG")
    with serving(f"sqlite:///{workdir}/db.sqlite", workdir, *extra) as base:
        yield base, workdir / f"serve-{base.rsplit(':', 1)[1]}.log"


async def test_a_client_written_forwarded_is_ignored_behind_an_x_forwarded_for_proxy(
    strict_behind_proxy: tuple[str, Path], job_id: str
) -> None:
    """The proxy appends the peer it saw to X-Forwarded-For and passes the client's Forwarded
    through: a new Forwarded address on every request is still one client, one bucket."""
    base, log_path = strict_behind_proxy
    statuses = []
    async with httpx.AsyncClient(base_url=base) as client:
        for number in range(6):
            spoofed = {"X-Forwarded-For": "203.0.113.9", "Forwarded": f"for=198.51.100.{number}"}
            statuses.append((await client.get(f"/v1/jobs/{job_id}", headers=spoofed)).status_code)
        other = {"X-Forwarded-For": "203.0.113.10", "Forwarded": "for=198.51.100.0"}
        assert (await client.get(f"/v1/jobs/{job_id}", headers=other)).status_code == 404
    assert statuses == [404] * 3 + [429] * 3
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    clients = {line["client"] for line in lines if line.get("client")}
    assert "203.0.113.9" in clients
    assert not any(client.startswith("198.51.100.") for client in clients), clients

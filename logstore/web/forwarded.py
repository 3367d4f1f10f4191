"""Who the client is behind a proxy, as ASGI middleware: one header, named in the configuration
(`--client-address-header`: `x-forwarded-for` or `forwarded`), read only from the proxies the
operator listed (`--trusted-proxies`). The other header is never read: a proxy that sets only
`X-Forwarded-For` passes a client's own `Forwarded` through untouched, so whichever header "wins"
when both are present, the client could choose its address. Unset (`none`, the default), the
client is the TCP peer.

When the TCP peer is a trusted proxy, the client is found in the named header's chain, read from
the right (each proxy appends the peer it saw, so everything left of the proxies' own entries may
be forged by the client):
- `--client-address-hops 0` (the default): the nearest address that is not itself in
  `--trusted-proxies`;
- `--client-address-hops N`: exactly N proxies append to the header (a CDN whose addresses you
  cannot list in front of your balancer, say): the Nth address from the right.
From any other peer the headers are ignored. The middleware rewrites the ASGI scope's `client`,
so the rate limit, the per-client viewer limit and the logs (the `client` field of every line
written while the request is handled) all see the same address.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from logstore.config import HttpSettings
from logstore.logs import CLIENT

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FOR = re.compile(r'(?i)(?:^|[;,\s])for\s*=\s*("[^"]*"|[^;,\s]*)')


HEADERS = ("none", "x-forwarded-for", "forwarded")


class TrustedProxies:
    def __init__(self, networks: Sequence[Network], header: str = "none", hops: int = 0) -> None:
        if header not in HEADERS:
            raise ValueError(f"header {header!r} is not one of {HEADERS}")
        self.networks = tuple(networks) if header != "none" else ()
        self.header = header.encode()
        self.hops = hops

    @classmethod
    def of(cls, http: HttpSettings) -> TrustedProxies:
        return cls(http.proxy_networks, http.client_address_header, http.client_address_hops)

    def trusts(self, address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self.networks)

    def client(self, peer: str, headers: Sequence[tuple[bytes, bytes]]) -> str:
        """The client's address for a request from `peer` carrying these headers."""
        if not self.trusts(peer):
            return peer
        chain = _chain(headers, self.header)
        if self.hops:
            if not chain:
                return peer
            hop = chain[max(0, len(chain) - self.hops)]  # shorter: a proxy appended nothing
            return str(_ip(hop)) if _ip(hop) is not None else peer
        for hop in reversed(chain):
            if _ip(hop) is None:
                return peer  # a trusted proxy wrote something we cannot read: go no further
            if not self.trusts(hop):
                return str(_ip(hop))
        return str(_ip(chain[0])) if chain else peer


def _chain(headers: Sequence[tuple[bytes, bytes]], header: bytes) -> list[str]:
    """The addresses of every `header` line, in order; no other header is looked at."""
    values = [value.decode("latin-1") for name, value in headers if name.lower() == header]
    if header == b"forwarded":
        return [_host(match) for value in values for match in _FOR.findall(value)]
    return [hop.strip() for value in values for hop in value.split(",") if hop.strip()]


def _host(value: str) -> str:
    """`192.0.2.1`, `"192.0.2.1:80"`, `"[2001:db8::1]:4711"` -> the address alone."""
    value = value.strip('"')
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return mapped or ip  # a server listening on :: sees IPv4 peers as ::ffff:a.b.c.d


class ForwardedClient:
    """Sets scope["client"] to the real client (see the module docstring) for HTTP and websockets."""

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        if peer and self.proxies.networks:
            client = self.proxies.client(peer[0], scope.get("headers", []))
            if client != peer[0]:
                scope = {**scope, "client": (client, 0)}
        address = scope["client"][0] if scope.get("client") else None
        token = CLIENT.set(address)
        try:
            await self.app(scope, receive, send)
        finally:
            CLIENT.reset(token)

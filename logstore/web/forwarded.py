"""Who the client is behind a proxy: `X-Forwarded-For` / `Forwarded` trusted only from the
proxies the operator configured (`--trusted-proxies`), as ASGI middleware.

When the TCP peer is a trusted proxy, the client is the nearest address in the forwarded chain
that is not itself a trusted proxy, read from the right (each proxy appends the peer it saw, so
everything left of the last untrusted hop may be forged by the client). `Forwarded` (RFC 7239)
wins over `X-Forwarded-For` when both are sent. From any other peer both headers are ignored:
a client cannot choose its own address. The middleware rewrites the ASGI scope's `client`, so
the rate limit, the per-client viewer limit and the logs (the `client` field of every line
written while the request is handled) all see the same address.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from logstore.logs import CLIENT

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FOR = re.compile(r'(?i)(?:^|[;,\s])for\s*=\s*("[^"]*"|[^;,\s]*)')


class TrustedProxies:
    def __init__(self, networks: Sequence[Network]) -> None:
        self.networks = tuple(networks)

    def trusts(self, address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self.networks)

    def client(self, peer: str, headers: Sequence[tuple[bytes, bytes]]) -> str:
        """The client's address for a request from `peer` carrying these headers."""
        if not self.trusts(peer):
            return peer
        chain = _forwarded_chain(headers)
        for hop in reversed(chain):
            if _ip(hop) is None:
                return peer  # a trusted proxy wrote something we cannot read: go no further
            if not self.trusts(hop):
                return str(_ip(hop))
        return str(_ip(chain[0])) if chain else peer


def _forwarded_chain(headers: Sequence[tuple[bytes, bytes]]) -> list[str]:
    forwarded = [value.decode("latin-1") for name, value in headers if name.lower() == b"forwarded"]
    if forwarded:
        return [_host(match) for value in forwarded for match in _FOR.findall(value)]
    xff = [value.decode("latin-1") for name, value in headers if name.lower() == b"x-forwarded-for"]
    return [hop.strip() for value in xff for hop in value.split(",") if hop.strip()]


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

    def __init__(self, app: ASGIApp, networks: Sequence[Network]) -> None:
        self.app = app
        self.proxies = TrustedProxies(networks)

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

"""The per-client request rate limit: a token bucket per address, bounded in memory, answered
with 429 and Retry-After; health and metrics are never limited."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import httpx

from logstore.bus.memory import MemoryBus
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store import LogStore
from logstore.web import rate_limit
from logstore.web.rate_limit import TokenBuckets
from tests.clocks import FakeClock


def test_a_bucket_allows_the_burst_then_the_rate() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == 0.5  # one token comes back every 0.5 s
    assert buckets.take("b") == 0.0  # another client has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    clock.now += 60  # refills up to the burst, no further
    assert [buckets.take("a") for _ in range(4)][-1] > 0


def test_the_table_of_clients_is_bounded() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1, clock=FakeClock())
    for client in range(rate_limit.MAX_CLIENTS + 500):
        buckets.take(f"10.0.{client // 256}.{client % 256}")
    assert len(buckets) == rate_limit.MAX_CLIENTS


async def test_requests_over_the_limit_are_429_with_retry_after(any_store: LogStore, job_id: str) -> None:
    settings = Settings({"store": "sqlite:///unused", "rate_limit": 0.5, "rate_burst": 3})
    clock = FakeClock()  # still: no token comes back however slow the store is
    app = build_app(settings, any_store, MemoryBus(), rate_clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        statuses = [
            (await client.put(f"/v1/jobs/{job_id}/chunks/{c}", content=b"x")).status_code for c in range(3)
        ]
        assert statuses == [201, 201, 201]
        refused = await client.put(f"/v1/jobs/{job_id}/chunks/3", content=b"x")
        assert refused.status_code == 429
        assert refused.json()["error"] == "rate_limited"
        assert refused.headers["retry-after"] == "2"  # one token back every 2 s
        assert (await client.get(f"/v1/jobs/{job_id}/log")).status_code == 429  # reads count too
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
        clock.now += 2  # one token back
        assert (await client.get(f"/v1/jobs/{job_id}/log")).status_code == 200
        assert (await client.get(f"/v1/jobs/{job_id}/log")).status_code == 429
    assert (await any_store.get_job(job_id)).chunks == 3  # the refused write changed nothing


async def test_the_default_limit_is_generous(app_client: httpx.AsyncClient, job_id: str) -> None:
    for clock in range(300):
        response = await app_client.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=b"x")
        assert response.status_code == 201


def test_an_ipv6_client_has_one_bucket_per_64() -> None:
    assert rate_limit.bucket_of("2001:db8:1:2:aaaa::1") == rate_limit.bucket_of("2001:db8:1:2:ffff:1:2:3")
    assert rate_limit.bucket_of("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert rate_limit.bucket_of("2001:db8:1:3::1") != rate_limit.bucket_of("2001:db8:1:2::1")
    assert rate_limit.bucket_of("::ffff:10.0.0.7") == "10.0.0.7"  # an IPv4 client over IPv6
    assert rate_limit.bucket_of("10.0.0.7") == "10.0.0.7"


async def test_websocket_connects_over_the_limit_are_closed_4429(any_store: LogStore, job_id: str) -> None:
    settings = Settings({"store": "sqlite:///unused", "rate_limit": 0.5, "rate_burst": 2})
    app = build_app(settings, any_store, MemoryBus(), rate_clock=FakeClock())
    scope = {
        "type": "websocket",
        "path": f"/v1/jobs/{job_id}/tail",
        "raw_path": f"/v1/jobs/{job_id}/tail".encode(),
        "query_string": b"from_clock=0",
        "headers": [],
        "client": ("2001:db8::1", 5000),
        "server": ("t", 80),
        "scheme": "ws",
        "subprotocols": [],
        "asgi": {"version": "3.0"},
    }
    closes = []
    for n in range(3):
        sent: list[dict[str, object]] = []
        inbox: list[dict[str, Any]] = [
            {"type": "websocket.connect"},
            {"type": "websocket.disconnect", "code": 1000},
        ]

        async def receive(inbox: list[dict[str, Any]] = inbox) -> dict[str, Any]:
            return inbox.pop(0) if inbox else {"type": "websocket.disconnect", "code": 1000}

        async def send(message: MutableMapping[str, Any], sent: list[dict[str, object]] = sent) -> None:
            sent.append(dict(message))

        client = ("2001:db8::1", 5000) if n < 2 else ("2001:db8::ffff", 5001)  # the same /64
        await app({**scope, "client": client}, receive, send)
        closes.append(next((m.get("code") for m in sent if m["type"] == "websocket.close"), None))
    assert closes[2] == 4429  # a third connect from the /64 within the burst: refused
    assert 4429 not in closes[:2]

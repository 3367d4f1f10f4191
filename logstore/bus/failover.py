"""One robust AMQP connection over several brokers of a cluster: failover between their URLs.

aio-pika's RobustConnection reconnects to the one URL it was given. Here every attempt, the first
and each reconnect, walks the list: the first connection tries the URLs in the order given; after a
lost connection the walk starts at the node after the one that was lost (the lost node is tried
last, since it is most likely the one that died). The first connection fails only when every URL
failed. RobustConnection then restores channels, queues, bindings and consumers on the new node.
"""

from __future__ import annotations

import logging
from typing import Any

import aio_pika
from aio_pika import RobustConnection
from yarl import URL

log = logging.getLogger("logstore.bus")

RECONNECT_INTERVAL_S = 1.0  # pause between two walks of the list (aio-pika's default is 5 s)


def safe_url(url: str | URL) -> str:
    """The URL without its password, for messages and logs."""
    scheme, _, rest = str(url).partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


class FailoverConnection(RobustConnection):
    """A RobustConnection whose (re)connect attempts go through `urls` in turn."""

    def __init__(self, url: URL, loop: Any = None, **kwargs: Any) -> None:
        super().__init__(url, loop=loop, **kwargs)
        self.urls: list[URL] = [url]
        self._next = 0  # index of the URL the next walk starts with

    # RobustConnection's reconnect loop calls its private __connect_transport (name-mangled) for
    # the first connection and for every reconnect; this override walks the URL list around it.
    # aio-pika is pinned in pyproject.toml; tests/logstore/test_bus_failover.py checks the hook.
    async def _RobustConnection__connect_transport(self) -> None:
        parent = super()._RobustConnection__connect_transport  # type: ignore[misc]
        last: BaseException | None = None
        count = len(self.urls)
        for step in range(count):
            index = (self._next + step) % count
            self.url = self.urls[index]
            try:
                await parent()
            except Exception as exc:  # refused, reset, timed out, broker not ready: try the next one
                last = exc
                if count > 1:
                    log.warning("rabbitmq at %s cannot be reached: %s", safe_url(self.url), exc)
                continue
            self._next = (index + 1) % count  # after losing this node, start with the next one
            if count > 1:
                log.info("connected to rabbitmq at %s", safe_url(self.url))
            return
        assert last is not None
        raise last


async def connect_failover(urls: list[str], connect_timeout_s: float) -> FailoverConnection:
    """A robust connection to the first of `urls` that answers; it fails over to the others."""
    first, *_ = urls
    connection = FailoverConnection(
        aio_pika.connection.make_url(first), reconnect_interval=RECONNECT_INTERVAL_S
    )
    connection.urls = [aio_pika.connection.make_url(url) for url in urls]
    await connection.connect(timeout=connect_timeout_s)
    return connection

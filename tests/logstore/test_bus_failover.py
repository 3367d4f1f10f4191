"""Failover between broker URLs: the connection walks the list (the single test broker plus ports
where nothing listens). The 3-node cluster's kill and restart is in tests/faults/test_rabbitmq_cluster.py."""

from __future__ import annotations

import socket

import pytest

from logstore.bus.amqp import connect
from logstore.bus.failover import FailoverConnection
from logstore.errors import BusUnavailable
from tests.servers import require_rabbitmq

pytestmark = [pytest.mark.rabbitmq, pytest.mark.timeout(120)]


def closed_port() -> int:
    """A loopback port where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_first_connection_skips_dead_brokers() -> None:
    live = require_rabbitmq()
    dead = f"amqp://guest:guest@127.0.0.1:{closed_port()}/"
    connection = await connect(f"{dead},{live}")
    try:
        assert isinstance(connection, FailoverConnection)
        assert connection.url.port == 5672  # RobustConnection called the hook: it went on to the live one
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        assert queue.name
    finally:
        await connection.close()


async def test_every_broker_down_names_them_all_without_passwords() -> None:
    ports = [closed_port(), closed_port()]
    urls = ",".join(f"amqp://guest:s3cret@127.0.0.1:{port}/" for port in ports)
    with pytest.raises(BusUnavailable) as caught:
        await connect(urls)
    message = str(caught.value)
    assert all(f"127.0.0.1:{port}" in message for port in ports)
    assert "s3cret" not in message

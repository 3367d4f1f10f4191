"""Build a driver session from a CassandraTarget: token-aware, short timeouts, chosen consistency."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import (
    ConstantSpeculativeExecutionPolicy,
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import tuple_factory

from logstore.errors import StoreUnavailable
from logstore.store.cassandra.futures import UNAVAILABLE_ERRORS
from logstore.store.cassandra.url import CassandraTarget

NODELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _connection_class() -> Any:
    try:  # libev ships in the driver's Linux wheels; asyncore is gone from Python 3.12
        from cassandra.io.libevreactor import LibevConnection

        return LibevConnection
    except ImportError:  # pragma: no cover - depends on the wheel
        from cassandra.io.asyncioreactor import AsyncioConnection

        return AsyncioConnection


def build_cluster(target: CassandraTarget) -> Cluster:
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        consistency_level=ConsistencyLevel.name_to_value[target.consistency],
        request_timeout=target.timeout_s,
        row_factory=tuple_factory,
        # A hung replica (a frozen JVM keeps its sockets open) must not stall a write for the whole
        # request timeout: an idempotent statement (all of ours but the lease LWTs) not answered in
        # 0.5 s is also sent to the next replica, and the first answer wins. No effect on one node.
        speculative_execution_policy=ConstantSpeculativeExecutionPolicy(delay=0.5, max_attempts=2),
    )
    return Cluster(
        contact_points=list(target.hosts),
        port=target.port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connection_class=_connection_class(),
        connect_timeout=target.connect_timeout_s,
        control_connection_timeout=target.connect_timeout_s,
        reconnection_policy=ExponentialReconnectionPolicy(base_delay=0.5, max_delay=10.0),
        idle_heartbeat_interval=10,
        idle_heartbeat_timeout=5,
        protocol_version=5,
        # The driver opens its sockets without TCP_NODELAY: a request over one TCP segment (16 KB
        # and more) then waits for the server's delayed ACK (Nagle), about 40 ms a statement.
        sockopts=[NODELAY],
    )


async def open_session(target: CassandraTarget) -> tuple[Cluster, Session]:
    """Connect without blocking the event loop; raise StoreUnavailable when no host answers."""
    cluster = build_cluster(target)
    try:
        session = await asyncio.to_thread(cluster.connect)
    except UNAVAILABLE_ERRORS as exc:
        cluster.shutdown()
        hosts = ",".join(target.hosts)
        raise StoreUnavailable(f"cassandra at {hosts}:{target.port} cannot be reached: {exc}") from exc
    return cluster, session

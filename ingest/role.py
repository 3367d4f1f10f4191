"""The ingest role: HTTP ingest (PUT, the batch POST, secrets and settings) and, on RabbitMQ, the
consumer of the chunks workers publish, sharing one IngestService (one circuit breaker, one set
of caches)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from logstore.roles import Role, RoleParts

if TYPE_CHECKING:
    from logstore.bus import Bus
    from logstore.config import Settings
    from logstore.store import LogStore


def build(settings: Settings, store: LogStore, bus: Bus) -> RoleParts:
    from starlette.middleware import Middleware

    from ingest.consumer import AmqpIngester
    from ingest.http import ingest_router
    from ingest.protection_http import protection_router
    from ingest.put_fast_path import PutChunkFastPath
    from ingest.service import IngestService
    from logstore.bus.amqp import AmqpBus
    from logstore.process import Worker
    from logstore.supervisor import Supervisor

    service = IngestService(store, bus, settings.limits)
    workers: list[Worker] = []
    if isinstance(bus, AmqpBus):  # the in-process bus carries no chunks from workers
        workers.append(Supervisor("amqp_ingester", lambda: AmqpIngester(service, bus)))
    return RoleParts(
        routers=[ingest_router(service, settings.auth), protection_router(service, settings.auth)],
        middleware=[Middleware(PutChunkFastPath, service=service, auth=settings.auth)],
        workers=workers,
    )


ROLE = Role("ingest", "consume chunks from RabbitMQ (and HTTP) into the store", build, order=0)

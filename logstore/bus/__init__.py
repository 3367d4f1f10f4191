"""The message bus: live announcements of stored chunks and compaction requests, over RabbitMQ
(aio-pika) or in-process for the embedded mode. `open_bus` picks one from a bus URL."""

from __future__ import annotations

from logstore.bus.interface import Announcement, Bus, Subscription, WorkItem
from logstore.config import BusSettings
from logstore.errors import ConfigError

__all__ = ["Announcement", "Bus", "Subscription", "WorkItem", "open_bus"]


async def open_bus(settings: BusSettings) -> Bus:
    if settings.bus.startswith("memory://"):
        from logstore.bus.memory import MemoryBus

        return MemoryBus()
    if settings.bus.startswith(("amqp://", "amqps://")):
        from logstore.bus.amqp import AmqpBus

        return await AmqpBus.connect(settings)
    raise ConfigError(f"bus URL {settings.bus!r}: use memory:// or amqp://USER:PASS@HOST:PORT/VHOST")

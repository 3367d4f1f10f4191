"""Send a message that can never succeed to the dead-letter queue, with the reason in a header."""

from __future__ import annotations

import logging

from aio_pika.abc import AbstractIncomingMessage

from ingest import metrics
from logstore.bus.amqp import AmqpBus
from logstore.bus.messages import ERROR_HEADER, REASON_HEADER
from logstore.errors import InvalidInput

log = logging.getLogger("logstore.ingest")


async def dead_letter(bus: AmqpBus, message: AbstractIncomingMessage, error: InvalidInput) -> None:
    """Publish a copy with `x-logstore-reason` and `x-logstore-error`, confirmed, before the
    caller acknowledges the original; raises BusUnavailable if the copy was not confirmed."""
    headers = dict(message.headers or {})
    headers[REASON_HEADER] = error.reason
    headers[ERROR_HEADER] = str(error)[:1000]
    await bus.publish_durable(bus.settings.dead_letter_queue, message.body, headers)
    metrics.DEAD_LETTERS.labels(error.reason).inc()
    job_id = headers.get("job_id")
    log.warning(
        "dead-lettered: %s",
        error,
        extra={"job_id": job_id if isinstance(job_id, str) else None, "reason": error.reason},
    )

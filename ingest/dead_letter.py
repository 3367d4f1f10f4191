"""Send a message that can never succeed to the dead-letter queue, with the reason in a header."""

from __future__ import annotations

import logging

from ingest import metrics
from ingest.ack_window import Delivery
from ingest.original_headers import original_headers_json
from logstore.bus.amqp import AmqpBus
from logstore.bus.messages import ERROR_HEADER, ORIGINAL_HEADERS_HEADER, REASON_HEADER
from logstore.errors import LogstoreError

log = logging.getLogger("logstore.ingest")


async def dead_letter(bus: AmqpBus, message: Delivery, error: LogstoreError) -> None:
    """Publish a copy with the reason, the error and the original headers (as JSON text, which
    always encodes), confirmed, before the caller acknowledges the original; raises
    BusUnavailable if the copy was not confirmed. The body is the original's, byte for byte."""
    headers = {
        REASON_HEADER: error.reason,
        ERROR_HEADER: _printable(str(error))[:1000],
        ORIGINAL_HEADERS_HEADER: original_headers_json(message.headers),
    }
    await bus.publish_durable(bus.settings.dead_letter_queue, message.body, headers)
    metrics.DEAD_LETTERS.labels(error.reason).inc()
    job_id = (message.headers or {}).get("job_id")
    log.warning(
        "dead-lettered: %s",
        _printable(str(error))[:1000],
        extra={
            "job_id": _printable(job_id)[:200] if isinstance(job_id, str) else None,
            "reason": error.reason,
        },
    )


def _printable(text: str) -> str:
    """Text that encodes as UTF-8 whatever it holds (header names may carry surrogate escapes)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")

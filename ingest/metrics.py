"""Prometheus metrics of the ingest role."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CHUNKS = Counter(
    "logstore_ingest_chunks_total", "Chunks handled, by outcome (created, duplicate)", ["result"]
)
BYTES = Counter("logstore_ingest_bytes_total", "Bytes of newly stored chunks")
REJECTED = Counter("logstore_ingest_rejected_total", "Chunks refused, by reason", ["reason"])
DEAD_LETTERS = Counter(
    "logstore_ingest_dead_letters_total", "AMQP messages sent to the dead-letter queue, by reason", ["reason"]
)
REDELIVERIES = Counter("logstore_ingest_redeliveries_total", "AMQP messages delivered more than once")
BATCH_SIZE = Histogram(
    "logstore_ingest_batch_size",
    "Chunks per store write",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
STORE_WRITE_SECONDS = Histogram(
    "logstore_ingest_store_write_seconds",
    "Time to store one batch of chunks",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SENT_TO_STORED_SECONDS = Histogram(
    "logstore_ingest_sent_to_stored_seconds",
    "From the sender's sent_at header to the chunk being stored",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BREAKER_STATE = Gauge(
    "logstore_ingest_store_breaker_state", "Circuit breaker around the store: 0 closed, 1 half-open, 2 open"
)
BREAKER_TRANSITIONS = Counter(
    "logstore_ingest_store_breaker_transitions_total", "Breaker state changes, by new state", ["state"]
)
CONSUMING = Gauge("logstore_ingest_consuming", "1 while the ingester takes messages, 0 while paused")
HANDLER_ERRORS = Counter(
    "logstore_ingest_handler_errors_total",
    "Batches or messages whose handling failed for an unforeseen reason (a bug); see the error log",
)

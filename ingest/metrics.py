"""Prometheus metrics of the ingest role."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from logstore import errors
from logstore.store.interface import PutResult

CHUNKS = Counter(
    "logstore_ingest_chunks_total", "Chunks handled, by outcome (created, duplicate)", ["result"]
)
BYTES = Counter("logstore_ingest_bytes_total", "Bytes of newly stored chunks")
JOBS_REOPENED = Counter(
    "logstore_ingest_jobs_reopened_total", "Archived jobs reopened because a chunk of theirs came late"
)
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
HELD = Gauge(
    "logstore_ingest_held_messages",
    "Messages held unacknowledged because the store cannot write them now (consumption paused)",
)
STORE_PROBES = Counter(
    "logstore_ingest_store_probes_total",
    "A paused ingester's questions to the store whether it takes writes again, by answer (ok, refused)",
    ["result"],
)
REQUEUED_FRESH = Counter(
    "logstore_ingest_requeued_fresh_total",
    "Held messages put back on the ingest queue as fresh copies (not counted as deliveries) after hold_s",
)
HANDLER_ERRORS = Counter(
    "logstore_ingest_handler_errors_total",
    "Batches or messages whose handling failed for an unforeseen reason (a bug); see the error log",
)
HELD_BYTES = Gauge(
    "logstore_ingest_held_bytes",
    "Message bytes delivered to this ingester and not yet settled (its budget: LOGSTORE_MAX_BYTES_IN_FLIGHT)",
)
OLDEST_UNSTORED = Gauge(
    "logstore_ingest_oldest_unstored_seconds",
    "Age (from its sent_at) of the oldest chunk this ingester holds but has not stored; 0 if none",
)

# Every dead-letter reason and breaker state exists at 0 from the start, so the first dead letter
# is an increase Prometheus can see (a series born at 1 has no increase) and the dashboard's
# per-reason panel has its series before anything went wrong.
DEAD_LETTER_REASONS = tuple(
    error.reason
    for error in (
        errors.MalformedMessage,
        errors.InvalidJobId,
        errors.InvalidClock,
        errors.ChunkTooLarge,
        errors.LogTooLarge,
        errors.ChunkConflict,
        errors.HandlerFailed,
    )
)
for _reason in DEAD_LETTER_REASONS:
    DEAD_LETTERS.labels(_reason)
for _result in PutResult:  # LogstoreIngestionStalled and the dashboard read every outcome
    CHUNKS.labels(_result.value)
for _answer in ("ok", "refused"):
    STORE_PROBES.labels(_answer)
for _state in ("open", "half_open", "closed"):
    BREAKER_TRANSITIONS.labels(_state)

"""Prometheus metrics of the ingest role."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CHUNKS = Counter(
    "logstore_ingest_chunks_total", "Chunks handled, by outcome (created, duplicate)", ["result"]
)
BYTES = Counter("logstore_ingest_bytes_total", "Bytes of newly stored chunks")
REJECTED = Counter("logstore_ingest_rejected_total", "Chunks refused, by reason", ["reason"])
STORE_WRITE_SECONDS = Histogram(
    "logstore_ingest_store_write_seconds",
    "Time to store one batch of chunks",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

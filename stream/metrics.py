"""Prometheus metrics of the stream role."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from stream import close_codes

DOWNLOADS = Counter("logstore_stream_downloads_total", "Log downloads started")
DOWNLOAD_BYTES = Counter("logstore_stream_download_bytes_total", "Bytes sent by log downloads")
VIEWERS = Gauge("logstore_stream_viewers", "Websocket viewers connected")
FOLLOWING = Gauge(
    "logstore_stream_viewers_following",
    "Websocket viewers whose tail has joined its job's live feed (each new chunk reaches them at once)",
)
LIVE_JOBS = Gauge("logstore_stream_live_jobs", "Jobs with a live subscription in this process")
VIEWERS_LAGGING = Counter(
    "logstore_stream_viewer_lag_total", "Times a viewer's mailbox overflowed and it caught up from the store"
)
TAIL_CHUNKS = Counter("logstore_stream_tail_chunks_total", "Chunks sent to websocket viewers")
TAIL_BYTES = Counter("logstore_stream_tail_bytes_total", "Chunk bytes sent to websocket viewers")
TAIL_CLOSED = Counter("logstore_stream_tail_closed_total", "Websocket tails closed, by close code", ["code"])
STORE_CATCHUPS = Counter("logstore_stream_store_reads_total", "Times a tail read the store to catch up")
STORED_TO_SENT_SECONDS = Histogram(
    "logstore_stream_stored_to_sent_seconds",
    "From an ingester storing a chunk to this streamer writing it to a viewer's socket (live chunks)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PROTECTION_READ_SECONDS = Histogram(
    "logstore_stream_protection_read_seconds",
    "One read of a job's protection (private flag, secrets) for its live viewers: each announced chunk"
    " waits for one (stream/protection_watch.py)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SEARCHES = Counter("logstore_stream_searches_total", "Log searches started")
SEARCH_BYTES = Counter("logstore_stream_search_bytes_total", "Log bytes scanned by searches")
SEARCH_SECONDS = Histogram(
    "logstore_stream_search_seconds",
    "Time one search page took, from its first byte read to its end record",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
)
FIRST_FRAME_SECONDS = Histogram(
    "logstore_stream_first_frame_seconds",
    "Time to first log line: from a viewer's arrival (or, if its job had no line yet, the first"
    " line being stored) to that line being written to its socket",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

# Born at 0, so that the first viewer closed as too slow is an increase Prometheus can see (a
# series born at 1 has none): LogstoreViewersTooSlow counts this code.
TAIL_CLOSED.labels(str(close_codes.TOO_SLOW))

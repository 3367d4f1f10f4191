"""Prometheus metrics of the stream role."""

from __future__ import annotations

from prometheus_client import Counter

DOWNLOADS = Counter("logstore_stream_downloads_total", "Log downloads started")
DOWNLOAD_BYTES = Counter("logstore_stream_download_bytes_total", "Bytes sent by log downloads")

"""Is a results dict well-formed? Every expected figure present and a finite number (positive
where a rate, size or count must be), the four baselines present, verification passed. Used at
the end of each run and by the quick smoke test; it never judges a timing."""

from __future__ import annotations

import math
from typing import Any

POSITIVE = {
    "ours.sustained": ("chunks_per_s", "mb_per_s", "seconds"),
    "ours.realistic": (
        "chunks", "viewers", "viewers_connected", "stored_p50_ms", "stored_p95_ms", "stored_p99_ms",
        "viewer_p50_ms", "viewer_p95_ms", "viewer_p99_ms", "first_line_p50_ms", "first_line_p95_ms",
        "streamer_rss_mib_connected", "streamer_rss_mib_end",
    ),
    "ours.half_peak": (
        "peak_chunks_per_s", "offered_chunks_per_s", "sent_chunks_per_s", "jobs", "chunks", "viewers",
        "stored_p50_ms", "stored_p99_ms", "first_line_p50_ms", "first_line_p99_ms",
    ),
    "ours.compaction": ("raw_mb", "compressed_mb", "ratio", "mb_per_s", "busy_mb_per_s"),
    "ours.downloads.chunks": ("mb_per_s", "mb"),
    "ours.downloads.archive_plain": ("mb_per_s", "mb"),
    "ours.downloads.archive_zstd": ("mb_per_s", "wire_mb"),
    "ours.masked_reads": (
        "log_mb", "viewers", "quiet_frames", "quiet_p99_ms", "loaded_frames", "loaded_p99_ms",
        "load_requests", "load_requests_per_s",
    ),
    "ours.masked_reads.alone.cold_range_0_0": ("wall_ms",),
    "ours.masked_reads.alone.range_0_0": ("wall_ms",),
    "ours.masked_reads.alone.range_1mib": ("wall_ms",),
    "ours.masked_reads.alone.reconnect": ("wall_ms",),
    "ours.peak_rss_mib": ("ingest", "stream", "compact", "bench", "baseline_consumer"),
}  # fmt: skip
BASELINES = ("rabbitmq", "cassandra_raw", "pg_parts", "pg_append")


def _at(results: dict[str, Any], path: str) -> Any:
    node: Any = results
    for key in path.split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def problems(results: dict[str, Any]) -> list[str]:
    """What is missing or malformed; empty when the results are well-formed."""
    found: list[str] = []

    def need(path: str, keys: tuple[str, ...]) -> None:
        try:
            node = _at(results, path)
        except (KeyError, TypeError):
            found.append(f"{path}: missing")
            return
        found.extend(
            f"{path}.{k}: not a positive number ({node.get(k)!r})" for k in keys if not _positive(node.get(k))
        )

    for path, keys in POSITIVE.items():
        need(path, keys)
    for name in BASELINES:
        need(f"baselines.{name}.saturation", ("chunks_per_s", "mb_per_s"))
        need(f"baselines.{name}.realistic", ("p50_ms", "p95_ms", "p99_ms"))
        need(f"ratios.{name}", ("chunks_per_s", "mb_per_s", "stored_p50_ms", "stored_p99_ms"))
    for index in range(len(results.get("ours", {}).get("saturation", []))):
        need(f"ours.saturation.{index}", ("ingesters", "chunks_per_s", "mb_per_s", "ingest_cpu_us_per_chunk"))
    for index in range(len(results.get("ours", {}).get("backlog", []))):
        need(f"ours.backlog.{index}", ("chunk_bytes", "chunks_per_s", "mb_per_s"))
    for index in range(len(results.get("ours", {}).get("http_put", []))):
        need(f"ours.http_put.{index}", ("chunk_bytes", "chunks_per_s", "server_cpu_us_per_chunk"))
    for index in range(len(results.get("ours", {}).get("big_download", []))):
        need(f"ours.big_download.{index}", ("chunk_bytes", "chunks", "mb"))
        for source in ("from_chunks", "from_archive"):
            need(f"ours.big_download.{index}.{source}", ("mb_per_s", "first_byte_ms"))
    if not results.get("ours", {}).get("big_download"):
        found.append("ours.big_download: missing")
    if not results.get("ours", {}).get("http_put"):
        found.append("ours.http_put: missing")
    if len(results.get("ours", {}).get("backlog", [])) < 4:
        found.append("ours.backlog: fewer than four chunk sizes")
    for index in range(len(results.get("baselines", {}).get("cassandra_raw", {}).get("backlog", []))):
        need(f"baselines.cassandra_raw.backlog.{index}", ("chunk_bytes", "chunks_per_s", "cpu_us_per_chunk"))
    if len(results.get("ours", {}).get("saturation", [])) < 2:
        found.append("ours.saturation: fewer than two ingester counts")
    points = results.get("ours", {}).get("live_jobs", [])
    if len(points) < 2:
        found.append("ours.live_jobs: fewer than two points")
    for index, _ in enumerate(points):
        need(f"ours.live_jobs.{index}", ("live_jobs", "offered_chunks_per_s", "published_chunks_per_s"))
    if not results.get("corpus_ratio"):
        found.append("corpus_ratio: missing")
    if not results.get("verification", {}).get("passed"):
        found.append(f"verification failed: {results.get('verification')}")
    return found

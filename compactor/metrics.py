"""Prometheus metrics of the compactor role."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS = Counter("logstore_compactor_jobs_total", "Compaction attempts, by outcome", ["outcome"])
FAILURES = Counter("logstore_compactor_failures_total", "Compactions that failed, by reason", ["reason"])
DURATION = Histogram(
    "logstore_compactor_duration_seconds",
    "Time to archive one job (assemble, compress, store, verify)",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BYTES_IN = Counter("logstore_compactor_bytes_in_total", "Raw log bytes archived")
BYTES_OUT = Counter("logstore_compactor_bytes_out_total", "Compressed bytes written to archives")
RATIO = Histogram(
    "logstore_compactor_ratio",
    "Raw / compressed size per archived job",
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32),
)
IN_PROGRESS = Gauge("logstore_compactor_in_progress", "Jobs being compacted now")
# Set by the sweep (compactor/sweep.py) once it has read every unarchived job, however old.
BACKLOG = Gauge(
    "logstore_compactor_backlog",
    "Jobs due for archiving and not archived yet, as of the last sweep: finished, or without a write "
    "for abandon_running_after_s",
)
UNARCHIVED = Gauge(
    "logstore_compactor_unarchived_jobs", "Jobs not archived yet (running or finished), as of the last sweep"
)
OLDEST_DUE = Gauge(
    "logstore_compactor_oldest_due_seconds",
    "How long the longest-waiting job the last sweep found due has been due for archiving (finished: "
    "since its last write; without a final chunk: since abandon_running_after_s after it); 0 when none",
)
SWEEP_SUCCESS = Gauge(
    "logstore_compactor_sweep_last_success_timestamp_seconds",
    "Unix time at which this process last finished a sweep of every unarchived job; 0 before the first",
)

# The failure seen in normal operation exists at 0 from the start, so the first failure is an
# increase Prometheus can see; other reasons (exception names) appear when they first happen.
FAILURES.labels("verify")

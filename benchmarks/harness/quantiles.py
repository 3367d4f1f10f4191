"""Percentiles from samples, and from Prometheus histogram buckets (linear within a bucket)."""

from __future__ import annotations

import math
import re


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; NaN without samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def histogram_buckets(metrics_text: str, name: str) -> dict[float, float]:
    """The cumulative `name_bucket{le=...}` counts of one page (summed over label sets)."""
    buckets: dict[float, float] = {}
    pattern = re.compile(rf'^{re.escape(name)}_bucket\{{.*?le="([^"]+)".*?\}} (\S+)$')
    for line in metrics_text.splitlines():
        match = pattern.match(line)
        if match:
            bound = math.inf if match[1] == "+Inf" else float(match[1])
            buckets[bound] = buckets.get(bound, 0.0) + float(match[2])
    return buckets


def merge_buckets(*pages: dict[float, float], minus: dict[float, float] | None = None) -> dict[float, float]:
    """Buckets of several processes added up, less an earlier snapshot (`minus`): a window's counts."""
    total: dict[float, float] = {}
    for page in pages:
        for bound, count in page.items():
            total[bound] = total.get(bound, 0.0) + count
    for bound, count in (minus or {}).items():
        total[bound] = total.get(bound, 0.0) - count
    return total


def bucket_quantile(buckets: dict[float, float], q: float) -> float:
    """Like PromQL's histogram_quantile over cumulative buckets; NaN when empty."""
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] <= 0:
        return math.nan
    rank = q / 100 * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def histogram_quantile(metrics_text: str, name: str, q: float) -> float:
    """Like PromQL's histogram_quantile over the cumulative `name_bucket{le=...}` samples."""
    return bucket_quantile(histogram_buckets(metrics_text, name), q)

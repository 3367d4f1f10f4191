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


def histogram_quantile(metrics_text: str, name: str, q: float) -> float:
    """Like PromQL's histogram_quantile over the cumulative `name_bucket{le=...}` samples."""
    buckets: list[tuple[float, float]] = []
    pattern = re.compile(rf'^{re.escape(name)}_bucket\{{.*?le="([^"]+)".*?\}} (\S+)$')
    for line in metrics_text.splitlines():
        match = pattern.match(line)
        if match:
            buckets.append((math.inf if match[1] == "+Inf" else float(match[1]), float(match[2])))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return math.nan
    rank = q / 100 * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound

"""The sizes of a run. `full` is the documented run (under 20 minutes on 2 cores); `quick` is the
smoke test inside `make test` (about 2 minutes): the same steps, tiny sizes, never judged on time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    # saturation: jobs sending their chunks as fast as they are confirmed (all systems alike)
    sat_jobs: int
    sat_chunks: int
    sat_ingesters: tuple[int, ...]
    sat_timeout_s: float
    # realistic: one 1.6 KB chunk per job every 500 ms
    real_jobs: int
    real_seconds: float
    real_ingesters: int
    viewers_per_job: int
    baseline_real_seconds: float
    # the live-jobs curve: short windows at the realistic pace, without viewers; the point with
    # real_jobs jobs is our publish -> stored latency under the baselines' conditions
    live_points: tuple[int, ...]
    live_window_s: float
    live_ingesters: int
    # a baseline that cannot keep up is cut off after this long (its rate is what it stored)
    baseline_timeout_s: float
    # the raw Cassandra backlog ceilings: at each chunk size, this many chunks or this many bytes,
    # whichever is fewer, spread over backlog_jobs jobs
    chunk_sizes: tuple[int, ...] = (1600, 16 * 1024, 128 * 1024, 1024 * 1024)
    backlog_chunks: int = 24_000
    backlog_bytes: int = 64 * 1024 * 1024
    backlog_jobs: int = 50
    http_seconds: float = 10.0  # wrk's run against one ingester, per chunk size
    http_sizes: tuple[int, ...] = (1600, 16 * 1024)
    # one big log on Cassandra, downloaded whole by curl from its chunks and from its archive
    big_log_bytes: int = 100 * 1024 * 1024
    big_log_chunk_sizes: tuple[int, ...] = (1600, 64 * 1024)
    big_log_downloads: int = 3  # the best of these counts (each is checked byte for byte)
    # half of the 1.6 KB drain's peak offered as paced jobs by several publisher processes
    half_peak_seconds: float = 15.0
    # masked reads: a log of this size with 100 secrets; live viewers' frames over a quiet window
    # and a window of this length with 20 masked requests in flight
    masked_log_bytes: int = 100 * 1024 * 1024
    masked_window_s: float = 15.0


QUICK = Profile(
    name="quick",
    half_peak_seconds=3,
    sat_jobs=40,
    sat_chunks=25,
    sat_ingesters=(1, 2),
    sat_timeout_s=60,
    real_jobs=10,
    real_seconds=6,
    real_ingesters=1,
    viewers_per_job=2,
    baseline_real_seconds=3,
    live_points=(10, 100),
    live_window_s=3,
    live_ingesters=1,
    baseline_timeout_s=30,
    backlog_chunks=400,
    backlog_bytes=4 * 1024 * 1024,
    backlog_jobs=8,
    http_seconds=2.0,
    big_log_bytes=2 * 1024 * 1024,
    big_log_downloads=1,
    masked_log_bytes=4 * 1024 * 1024,
    masked_window_s=3.0,
)

FULL = Profile(
    name="full",
    sat_jobs=200,
    sat_chunks=60,
    sat_ingesters=(1, 2, 4),
    sat_timeout_s=300,
    real_jobs=100,
    real_seconds=45,
    real_ingesters=2,
    viewers_per_job=5,
    baseline_real_seconds=20,
    live_points=(10, 100, 1000, 10000),
    live_window_s=15,
    live_ingesters=2,
    baseline_timeout_s=90,
)

PROFILES = {p.name: p for p in (QUICK, FULL)}

"""The shape of a run's results (results.json: written by run.py and __main__.py, read by check.py,
report.py and plots.py). The JSON is these dicts as they are; mypy checks every key read.

The marks in `Annotated[...]` are what check.py verifies at run time, so that it names no key
itself: POSITIVE, a finite number > 0 (a rate, size or count that must be there); AtLeast, a list
of at least that many items; PASSED, a flag that must be true; EVERY_BASELINE, a dict holding one
entry per baseline.

No `from __future__ import annotations` here: check.py reads these annotations at run time, and
on Python 3.11 a TypedDict's NotRequired keys are only known as such when they are not strings."""

from dataclasses import dataclass
from typing import Annotated, Literal, NotRequired, TypedDict


@dataclass(frozen=True)
class Positive:
    """A finite number > 0."""


@dataclass(frozen=True)
class AtLeast:
    """A list of at least `count` items; `problem` says what is wrong when it is shorter."""

    count: int
    problem: str


@dataclass(frozen=True)
class Passed:
    """A flag that must be true; when false the whole dict that holds it is the problem."""


@dataclass(frozen=True)
class Keys:
    """A dict that must hold these keys."""

    names: tuple[str, ...]


BaselineName = Literal["rabbitmq", "cassandra_raw", "pg_parts", "pg_append"]
BASELINES: tuple[BaselineName, ...] = ("rabbitmq", "cassandra_raw", "pg_parts", "pg_append")

POSITIVE = Positive()
PASSED = Passed()
EVERY_BASELINE = Keys(BASELINES)

Pos = Annotated[float, POSITIVE]
PosInt = Annotated[int, POSITIVE]


class Machine(TypedDict):
    cpus: int
    cpu_model: str
    ram_gib: float
    kernel: str
    load_average_at_start: list[float]
    python: str
    cassandra: str
    rabbitmq: str
    postgresql: str
    load_average_at_end: NotRequired[list[float]]


class Saturation(TypedDict):
    """Ours at saturation with some ingesters (a row of ours.saturation; ours.sustained is the best)."""

    ingesters: PosInt
    chunks: int
    complete: float
    seconds: Pos
    chunks_per_s: Pos
    mb_per_s: Pos
    publish_chunks_per_s: float
    stored_p50_ms: float
    stored_p99_ms: float
    peak_rss_mib_ingester: float
    ingest_cpu_us_per_chunk: Pos


class Backlog(TypedDict):
    """One ingester draining a pre-filled backlog of one chunk size through one driver."""

    chunk_bytes: PosInt
    driver: str
    chunks: int
    complete: float
    publish_chunks_per_s: float
    seconds: float
    chunks_per_s: Pos
    mb_per_s: Pos
    ingest_cpu_us_per_chunk: float


class HalfPeak(TypedDict):
    peak_chunks_per_s: Pos
    offered_chunks_per_s: Pos
    sent_chunks_per_s: Pos
    jobs: PosInt
    chunks: PosInt
    publishers: int
    publish_errors: int
    viewers: PosInt
    viewers_exact: int
    stored_p50_ms: Pos
    stored_p95_ms: float
    stored_p99_ms: Pos
    first_line_p50_ms: Pos
    first_line_p99_ms: Pos
    cpu_share_machine: float


class HttpPut(TypedDict):
    chunk_bytes: PosInt
    connections: int
    requests: int
    errors: int
    stored: float
    chunks_per_s: Pos
    mb_per_s: float
    server_cpu_us_per_chunk: Pos
    p50_ms: float
    p99_ms: float


class DownloadSource(TypedDict):
    """The big log downloaded by curl from one source: the best and the worst of the downloads."""

    mb_per_s: Pos
    first_byte_ms: Pos
    mb_per_s_worst: float
    first_byte_ms_worst: float
    exact: float


class BigDownload(TypedDict):
    chunk_bytes: PosInt
    chunks: PosInt
    mb: Pos
    from_chunks: DownloadSource
    from_archive: DownloadSource
    exact: bool


class MaskedRequest(TypedDict):
    wall_ms: Pos
    cpu_ms: float


MaskedRequestName = Literal["cold_range_0_0", "range_0_0", "range_1mib", "reconnect"]


class MaskedAlone(TypedDict):
    cold_range_0_0: MaskedRequest
    range_0_0: MaskedRequest
    range_1mib: MaskedRequest
    reconnect: MaskedRequest


class MaskedReads(TypedDict):
    log_mb: Pos
    secrets: int
    concurrency: int
    alone: MaskedAlone
    alone_exact: bool
    viewers: PosInt
    viewers_exact: int
    quiet_frames: PosInt
    quiet_p50_ms: float
    quiet_p99_ms: Pos
    quiet_max_ms: float
    loaded_frames: PosInt
    loaded_p50_ms: float
    loaded_p99_ms: Pos
    loaded_max_ms: float
    quiet_stored_p99_ms: float
    quiet_stored_to_sent_p99_ms: float
    loaded_stored_p99_ms: float
    loaded_stored_to_sent_p99_ms: float
    quiet_streamer_loop_lag_p99_ms: float
    loaded_streamer_loop_lag_p99_ms: float
    quiet_protection_read_p99_ms: float
    loaded_protection_read_p99_ms: float
    bench_loop_lag_p99_ms: float
    loaded_streamer_cpu_cores: float
    loaded_load_process_cpu_cores: float
    loaded_machine_cpu_cores: float
    load_requests: PosInt
    load_exact: int
    load_errors: int
    load_first_error: str
    load_requests_per_s: Pos
    load_range_0_0_p50_ms: float
    load_range_1mib_p50_ms: float
    load_reconnect_p50_ms: float
    load_range_0_0_p99_ms: float
    load_range_1mib_p99_ms: float
    load_reconnect_p99_ms: float


class Realistic(TypedDict):
    """The realistic pace with viewers (live_view.py)."""

    jobs: int
    chunks: PosInt
    ingesters: int
    viewers: PosInt
    viewers_connected: Pos
    viewers_all_following_s: NotRequired[float]
    viewers_exact: int
    stored_p50_ms: Pos
    stored_p95_ms: Pos
    stored_p99_ms: Pos
    viewer_p50_ms: Pos
    viewer_p95_ms: Pos
    viewer_p99_ms: Pos
    first_line_p50_ms: Pos
    first_line_p95_ms: Pos
    first_line_max_ms: float
    stored_to_socket_p50_ms: float
    stored_to_socket_p99_ms: float
    streamer_store_reads: float
    streamer_viewer_lags: float
    cpu_share_stream: float
    cpu_share_ingest: float
    cpu_share_bench: float
    cpu_share_machine: float
    streamer_rss_mib_connected: Pos
    streamer_rss_mib_end: Pos
    streamer_kib_per_viewer: float


class Compaction(TypedDict):
    jobs: int
    jobs_compacted: int
    raw_mb: Pos
    compressed_mb: Pos
    ratio: Pos
    seconds: float
    mb_per_s: Pos
    busy_mb_per_s: Pos
    ratio_by_file: dict[str, float]


class Download(TypedDict):
    """The realistic run's jobs downloaded whole from one source."""

    jobs: int
    jobs_exact: int
    mb: Pos
    wire_mb: Pos
    seconds: float
    mb_per_s: Pos


class Downloads(TypedDict):
    chunks: Download
    archive_plain: Download
    archive_zstd: Download


class PeakRss(TypedDict):
    """Peak RSS (VmHWM) per kind of process, MiB."""

    ingest: Pos
    stream: Pos
    compact: Pos
    bench: Pos
    baseline_consumer: Pos


class LivePoint(TypedDict):
    """One point of the live-jobs curve."""

    live_jobs: PosInt
    window_s: float
    publishers: int
    offered_chunks_per_s: Pos
    published_chunks_per_s: Pos
    stored_chunks_per_s: float
    stored_mb_per_s: float
    backlog_chunks: float
    publish_errors: int
    stored_p50_ms: float
    stored_p95_ms: float
    stored_p99_ms: float
    stored_buckets: list[list[float]]  # [bound s, cumulative count] of the ingesters' histogram


class Ours(TypedDict):
    saturation: Annotated[list[Saturation], AtLeast(2, "fewer than two ingester counts")]
    backlog: Annotated[list[Backlog], AtLeast(4, "fewer than four chunk sizes")]
    half_peak: HalfPeak
    http_put: Annotated[list[HttpPut], AtLeast(1, "missing")]
    big_download: Annotated[list[BigDownload], AtLeast(1, "missing")]
    masked_reads: MaskedReads
    realistic: Realistic
    compaction: Compaction
    downloads: Downloads
    peak_rss_mib: PeakRss
    live_jobs: Annotated[list[LivePoint], AtLeast(2, "fewer than two points")]
    sustained: Saturation


class FleetSaturation(TypedDict):
    """A baseline's saturation fleet: every job's chunks as fast as they are taken."""

    chunks: int
    stored: int
    complete: float
    seconds: float
    chunks_per_s: Pos
    mb_per_s: Pos


class Latency(TypedDict):
    p50_ms: Pos
    p95_ms: Pos
    p99_ms: Pos


class RawBacklog(TypedDict):
    """Raw Cassandra's backlog ceiling at one chunk size through one driver."""

    chunk_bytes: PosInt
    driver: str
    rows_per_batch: int
    chunks: int
    seconds: float
    chunks_per_s: Pos
    mb_per_s: float
    cpu_us_per_chunk: Pos


class Baseline(TypedDict):
    name: str
    saturation: FleetSaturation
    realistic: Latency
    saturation_by_driver: NotRequired[dict[str, FleetSaturation]]  # cassandra_raw
    backlog: NotRequired[list[RawBacklog]]  # cassandra_raw
    verified_jobs: NotRequired[int]  # the PostgreSQL designs
    checked_jobs: NotRequired[int]
    peak_rss_mib: NotRequired[float]  # those with a consumer process


class Ratio(TypedDict):
    """Ours / a baseline: throughput > 1 and latency < 1 favour us."""

    chunks_per_s: Pos
    mb_per_s: Pos
    stored_p50_ms: Pos
    stored_p95_ms: float
    stored_p99_ms: Pos


class CorpusRatio(TypedDict):
    file: str
    bytes: int
    ratio: float


class Verification(TypedDict):
    downloads_exact: bool
    viewers_exact: bool
    postgres_exact: bool
    all_compacted: bool
    http_put_stored: bool
    big_download_exact: bool
    half_peak_exact: bool
    masked_reads_exact: bool
    passed: Annotated[bool, PASSED]


class Results(TypedDict):
    profile: str
    tag: str
    started_at: str
    machine: Machine
    steps_s: dict[str, float]
    ours: Ours
    baselines: Annotated[dict[str, Baseline], EVERY_BASELINE]
    corpus_ratio: Annotated[list[CorpusRatio], AtLeast(1, "missing")]
    ratios: Annotated[dict[str, Ratio], EVERY_BASELINE]
    verification: Verification
    wall_s: float
    plots: NotRequired[list[str]]  # written by __main__ after the run
    problems: NotRequired[list[str]]  # check.problems of all the above

"""The shape of a soak's results (soak.json: built by run.py and __main__.py, read by summary.py
and plots.py). The JSON is these dicts as they are; mypy checks every key read."""

from __future__ import annotations

from typing import NotRequired, TypedDict


class Options(TypedDict):
    """The soak's options as given (run.SoakOptions)."""

    minutes: float
    sample_s: float
    rate: float | None  # None: half of the peak measured first
    probe_rate: float
    probe_seconds: float
    viewers: int
    publishers: int
    mix: str


class Peak(TypedDict):
    """The pipeline's peak measured before the soak (harness.pipeline_peak.Peak)."""

    offered_per_s: float
    mix: str
    confirmed_per_s: float
    stored_per_s: float
    stored_mib_per_s: float
    backlog_grew: bool


class Queues(TypedDict):
    """Messages ready in each queue."""

    ingest: int
    compact: int


class Footprint(TypedDict):
    """What the verdict reads of a sample: every process's memory and descriptors at a minute."""

    minute: float
    rss_mib: dict[str, float]  # process name -> MiB
    fds: dict[str, int]  # process name -> open descriptors (-1: gone)


class Sample(Footprint):
    """One sample of every process, the queues and the latency (sampler.Sampler.sample)."""

    queues: Queues
    stored_per_s: float
    stored_p50_ms: float
    stored_p99_ms: float
    sent_p50_ms: float
    sent_p99_ms: float
    viewer_sessions: int
    viewer_frames: int
    viewer_errors: int
    load_average: float


class ProcessVerdict(TypedDict):
    rss_settled: float
    rss_end: float
    rss_change: float  # (end - settled) / settled
    fds_settled: int
    fds_end: int


class Verdict(TypedDict):
    settled_minute: NotRequired[float]  # absent when there was no sample
    end_minute: NotRequired[float]
    rss_ok: bool
    fds_ok: bool
    processes: dict[str, ProcessVerdict]


class Logs(TypedDict):
    exact: int
    differ: int


class Viewers(TypedDict):
    """The viewers' tally (viewers.ViewerTally without its live jobs)."""

    sessions: int
    ended: int
    frames: int
    bytes: int
    wrong_bytes: int
    out_of_order: int
    failed: int


class Soak(TypedDict):
    """What run.soak measured."""

    options: Options
    peak: NotRequired[Peak]  # when the rate was not given
    rate_per_s: float
    jobs: int
    jobs_started: int
    chunks_sent: int
    publish_retries: int
    drained: bool
    not_compacted: int
    logs: Logs
    viewers: Viewers
    samples: list[Sample]
    verdict: Verdict


class SoakResults(Soak):
    """soak.json: the measurement and where it ran."""

    tag: str
    started_at: str
    store: str
    workdir: str

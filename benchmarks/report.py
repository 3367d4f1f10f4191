"""The markdown report of a run: every figure, the baselines side by side, ours as ratios."""

from __future__ import annotations

from benchmarks.harness.markdown import table
from benchmarks.plots import LABELS
from benchmarks.results import DownloadSource, MaskedRequestName, Realistic, Results
from benchmarks.run import like_baselines


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _x(value: float) -> str:
    return f"{value:.2f}x"


def headline(results: Results) -> list[str]:
    sustained = results["ours"]["sustained"]
    lines = [
        f"Sustained ingest: **{_n(sustained['chunks_per_s'])} chunks/s ({sustained['mb_per_s']:.2f} MB/s)** "
        f"with {sustained['ingesters']} ingester(s). Ours / baseline:",
        "",
    ]
    for key, label in LABELS.items():
        ratio = results["ratios"][key]
        lines.append(
            f"- {label}: throughput **{_x(ratio['chunks_per_s'])}**, "
            f"publish -> stored p50 {_x(ratio['stored_p50_ms'])}, p99 {_x(ratio['stored_p99_ms'])}"
        )
    return lines


def baselines_table(results: Results) -> list[str]:
    sustained = results["ours"]["sustained"]
    realistic = like_baselines(results["ours"])
    rows = [
        (
            f"**logstore** ({sustained['ingesters']} ingesters)",
            _n(sustained["chunks_per_s"]),
            f"{sustained['mb_per_s']:.2f}",
            f"{realistic['stored_p50_ms']:.1f} / {realistic['stored_p95_ms']:.1f} / "
            f"{realistic['stored_p99_ms']:.1f}",
            "1",
            "1",
            "1",
        )
    ]
    for key, label in LABELS.items():
        base = results["baselines"][key]
        sat, real, ratio = base["saturation"], base["realistic"], results["ratios"][key]
        done = "" if sat["complete"] else f" (cut off: {sat['stored']:,}/{sat['chunks']:,} stored)"
        rows.append(
            (
                f"{label}{done}",
                _n(sat["chunks_per_s"]),
                f"{sat['mb_per_s']:.2f}",
                f"{real['p50_ms']:.1f} / {real['p95_ms']:.1f} / {real['p99_ms']:.1f}",
                _x(ratio["chunks_per_s"]),
                _x(ratio["stored_p50_ms"]),
                _x(ratio["stored_p99_ms"]),
            )
        )
    headers = (
        "system", "chunks/s", "MB/s", "publish -> stored p50 / p95 / p99 ms", "ours / it: chunks/s",
        "ours / it: p50", "ours / it: p99",
    )  # fmt: skip
    return [table(headers, rows)]


def _saturation_table(results: Results) -> str:
    headers = ("ingesters", "chunks", "seconds", "chunks/s", "MB/s", "publish -> stored p50 / p99 ms")
    rows = [
        (
            r["ingesters"],
            f"{r['chunks']:,}",
            f"{r['seconds']:.1f}",
            _n(r["chunks_per_s"]),
            f"{r['mb_per_s']:.2f}",
            f"{r['stored_p50_ms']:.0f} / {r['stored_p99_ms']:.0f}",
        )
        for r in results["ours"]["saturation"]
    ]
    return table(headers, rows)


def _latency_table(real: Realistic) -> str:
    return table(
        ("figure", "p50", "p95", "p99 / max"),
        [
            (
                "publish -> stored (ingesters' histogram)",
                f"{real['stored_p50_ms']:.1f} ms",
                f"{real['stored_p95_ms']:.1f} ms",
                f"{real['stored_p99_ms']:.1f} ms",
            ),
            (
                "publish -> viewer (every chunk at every viewer)",
                f"{real['viewer_p50_ms']:.1f} ms",
                f"{real['viewer_p95_ms']:.1f} ms",
                f"{real['viewer_p99_ms']:.1f} ms",
            ),
            (
                "time to first log line (job start -> first byte at a viewer)",
                f"{real['first_line_p50_ms']:.1f} ms",
                f"{real['first_line_p95_ms']:.1f} ms",
                f"{real['first_line_max_ms']:.1f} ms (max)",
            ),
        ],
    )


def _figures_table(results: Results) -> str:
    ours = results["ours"]
    real, comp, dl, rss = ours["realistic"], ours["compaction"], ours["downloads"], ours["peak_rss_mib"]
    chunks, plain, zstd = dl["chunks"], dl["archive_plain"], dl["archive_zstd"]
    rows = [
        (
            "stored -> viewer socket (streamer's histogram) p50 / p99",
            f"{real['stored_to_socket_p50_ms']:.1f} / {real['stored_to_socket_p99_ms']:.1f} ms",
        ),
        (
            "streamer store catch-ups / viewer mailbox overflows",
            f"{real['streamer_store_reads']:,.0f} / {real['streamer_viewer_lags']:,.0f}",
        ),
        (
            f"CPU used during the run, cores (of {results['machine']['cpus']})",
            f"machine {real['cpu_share_machine']:.2f}: "
            f"ingesters {real['cpu_share_ingest']:.2f}, streamer {real['cpu_share_stream']:.2f}, "
            f"benchmark (publisher + viewers) {real['cpu_share_bench']:.2f}, the rest servers and other work",
        ),
        (
            "viewers following their jobs (tails subscribed) before the jobs start",
            f"{real['viewers_connected']:.0f}, all within "
            f"{real.get('viewers_all_following_s', float('nan')):.2f} s of the first connect",
        ),
        (
            "streamer RSS with every viewer connected / at the end",
            f"{real['streamer_rss_mib_connected']:.0f} / {real['streamer_rss_mib_end']:.0f} MiB "
            f"({real['streamer_kib_per_viewer']:.0f} KiB per viewer)",
        ),
        (
            "download from chunks",
            f"{chunks['mb_per_s']:.1f} MB/s ({chunks['mb']:.1f} MB, "
            f"{chunks['jobs_exact']}/{chunks['jobs']} byte-exact)",
        ),
        (
            "download from archives, plain",
            f"{plain['mb_per_s']:.1f} MB/s ({plain['jobs_exact']}/{plain['jobs']} byte-exact)",
        ),
        (
            "download from archives, zstd passthrough",
            f"{zstd['mb_per_s']:.1f} MB/s of log ({zstd['wire_mb']:.2f} MB on the wire, "
            f"{zstd['jobs_exact']}/{zstd['jobs']} byte-exact)",
        ),
        (
            "compaction, wall (compactor launched -> all archived)",
            f"{comp['mb_per_s']:.2f} MB/s ({comp['raw_mb']:.1f} MB in {comp['seconds']:.1f} s, "
            f"{comp['jobs_compacted']}/{comp['jobs']} jobs)",
        ),
        ("compaction, busy (bytes / time inside archive_job)", f"{comp['busy_mb_per_s']:.2f} MB/s"),
        ("compaction ratio (raw / compressed)", f"{comp['ratio']:.1f}"),
        (
            "peak RSS per process (VmHWM)",
            ", ".join(f"{name} {value:.0f} MiB" for name, value in rss.items()),
        ),
    ]
    return table(("figure", "value"), rows)


def ours_tables(results: Results) -> list[str]:
    real = results["ours"]["realistic"]
    return [
        _saturation_table(results),
        "",
        f"Realistic pace: {real['jobs']} jobs x one 1.6 KB chunk every 500 ms ({real['chunks']:,} chunks), "
        f"{real['ingesters']} ingesters, 1 streamer, {real['viewers']} viewers in the benchmark's process, "
        "all on the same cores "
        f"({real['viewers_exact']} received their log byte for byte).",
        "",
        _latency_table(real),
        "",
        _figures_table(results),
    ]


def live_table(results: Results) -> list[str]:
    headers = (
        "live jobs", "window s", "offered chunks/s", "published chunks/s", "stored chunks/s", "stored MB/s",
        "backlog at window end", "jobs stopped (confirm > 5 s)", "publish -> stored p50 / p95 / p99 ms",
    )  # fmt: skip
    rows = [
        (
            f"{p['live_jobs']:,}",
            f"{p['window_s']:.1f}",
            _n(p["offered_chunks_per_s"]),
            _n(p["published_chunks_per_s"]),
            _n(p["stored_chunks_per_s"]),
            f"{p['stored_mb_per_s']:.2f}",
            _n(p["backlog_chunks"]),
            f"{p['publish_errors']:,}",
            f"{p['stored_p50_ms']:.0f} / {p['stored_p95_ms']:.0f} / {p['stored_p99_ms']:.0f}",
        )
        for p in results["ours"]["live_jobs"]
    ]
    return [table(headers, rows)]


def ceiling_table(results: Results) -> list[str]:
    raw = results["baselines"]["cassandra_raw"]
    headers = ("chunk bytes", "driver", "rows per statement", "chunks/s", "MB/s", "client CPU us per chunk")
    rows = [
        (
            f"{row['chunk_bytes']:,}",
            row["driver"],
            row["rows_per_batch"],
            _n(row["chunks_per_s"]),
            f"{row['mb_per_s']:.1f}",
            f"{row['cpu_us_per_chunk']:.0f}",
        )
        for row in raw["backlog"]
    ]
    return [
        "Fleet shape (each job's chunks one after the other, one INSERT each): "
        + ", ".join(f"{d} {_n(f['chunks_per_s'])} chunks/s" for d, f in raw["saturation_by_driver"].items()),
        "",
        table(headers, rows),
    ]


def backlog_table(results: Results) -> list[str]:
    headers = (
        "chunk bytes", "write path driver", "chunks", "published chunks/s", "drained chunks/s", "MB/s",
        "ingester CPU us per chunk",
    )  # fmt: skip
    rows = [
        (
            f"{row['chunk_bytes']:,}",
            row.get("driver", "cassandra-driver"),
            f"{row['chunks']:,}" + ("" if row["complete"] else " (cut off)"),
            _n(row["publish_chunks_per_s"]),
            _n(row["chunks_per_s"]),
            f"{row['mb_per_s']:.1f}",
            f"{row['ingest_cpu_us_per_chunk']:.0f}",
        )
        for row in results["ours"]["backlog"]
    ]
    return [table(headers, rows)]


def http_put_table(results: Results) -> list[str]:
    headers = (
        "chunk bytes", "connections", "chunks/s", "MB/s", "errors", "stored", "server CPU us per chunk",
        "p50 / p99 ms",
    )  # fmt: skip
    rows = [
        (
            f"{row['chunk_bytes']:,}",
            row["connections"],
            _n(row["chunks_per_s"]),
            f"{row['mb_per_s']:.1f}",
            f"{row['errors']:,}",
            f"{row['stored']:,.0f}",
            f"{row['server_cpu_us_per_chunk']:.0f}",
            f"{row['p50_ms']:.1f} / {row['p99_ms']:.1f}",
        )
        for row in results["ours"].get("http_put", [])
    ]
    return [table(headers, rows)]


def _download(source: DownloadSource) -> str:
    return (
        f"{source['mb_per_s']:.0f}, {source['first_byte_ms']:.1f} "
        f"({source['mb_per_s_worst']:.0f}, {source['first_byte_ms_worst']:.1f})"
    )


def big_download_table(results: Results) -> list[str]:
    headers = (
        "log", "chunk bytes", "chunks", "from chunks: MB/s, first byte ms (best; worst)",
        "from the archive: MB/s, first byte ms (best; worst)", "byte-exact",
    )  # fmt: skip
    rows = [
        (
            f"{row['mb']:.1f} MB",
            f"{row['chunk_bytes']:,}",
            f"{row['chunks']:,}",
            _download(row["from_chunks"]),
            _download(row["from_archive"]),
            row["exact"],
        )
        for row in results["ours"].get("big_download", [])
    ]
    return [table(headers, rows)]


def half_peak_table(results: Results) -> list[str]:
    half = results["ours"].get("half_peak")
    if not half:
        return []
    headers = (
        "peak (1.6 KB drain)", "offered", "sent", "jobs", "publishers",
        "publish -> stored p50 / p95 / p99 ms", "first line p50 / p99 ms", "viewers exact",
        "machine CPU, cores",
    )  # fmt: skip
    row = (
        _n(half["peak_chunks_per_s"]),
        _n(half["offered_chunks_per_s"]),
        _n(half["sent_chunks_per_s"]),
        f"{half['jobs']:,}",
        half["publishers"],
        f"{half['stored_p50_ms']:.1f} / {half['stored_p95_ms']:.1f} / {half['stored_p99_ms']:.1f}",
        f"{half['first_line_p50_ms']:.1f} / {half['first_line_p99_ms']:.1f}",
        f"{half['viewers_exact']}/{half['viewers']}",
        f"{half['cpu_share_machine']:.2f}",
    )
    return [table(headers, [row])]


MASKED_REQUESTS: dict[MaskedRequestName, str] = {
    "cold_range_0_0": "`Range: bytes=0-0`, index cold",
    "range_0_0": "`Range: bytes=0-0`",
    "range_1mib": "1 MiB range in the middle",
    "reconnect": "tail reconnect 10 clocks from the end, to its first frame",
}


def masked_reads_table(results: Results) -> list[str]:
    masked = results["ours"].get("masked_reads")
    if not masked:
        return []
    alone = masked["alone"]
    requests = table(
        ("request, alone", "wall ms", "streamer CPU ms"),
        [
            (title, f"{alone[k]['wall_ms']:.1f}", f"{alone[k]['cpu_ms']:.0f}")
            for k, title in MASKED_REQUESTS.items()
        ],
    )
    quiet = (
        f"quiet ({masked['quiet_frames']:,} frames)",
        masked["quiet_p50_ms"],
        masked["quiet_p99_ms"],
        masked["quiet_max_ms"],
        masked["quiet_stored_to_sent_p99_ms"],
        masked["quiet_streamer_loop_lag_p99_ms"],
        masked["quiet_protection_read_p99_ms"],
    )
    loaded = (
        f"{masked['concurrency']} masked requests in flight ({masked['loaded_frames']:,} frames)",
        masked["loaded_p50_ms"],
        masked["loaded_p99_ms"],
        masked["loaded_max_ms"],
        masked["loaded_stored_to_sent_p99_ms"],
        masked["loaded_streamer_loop_lag_p99_ms"],
        masked["loaded_protection_read_p99_ms"],
    )
    frames = table(
        (
            "live viewers' frames, publish -> viewer", "p50 ms", "p99 ms", "max ms",
            "streamer stored -> sent p99", "streamer loop lag p99", "protection read p99",
        ),
        [(title, *(f"{value:.1f}" for value in figures)) for title, *figures in (quiet, loaded)],
    )  # fmt: skip
    return [
        f"A {masked['log_mb']:.0f} MB log (1 MiB chunks) with {masked['secrets']} secrets, one streamer.",
        "",
        requests,
        "",
        frames,
        "",
        f"Under load: {masked['load_requests']:,} masked requests ({masked['load_requests_per_s']:.1f}/s), "
        f"{masked['load_exact']:,} byte-exact, {masked['load_errors']} errors; this process's own loop lag "
        f"p99 {masked['bench_loop_lag_p99_ms']:.1f} ms.",
    ]


def render(results: Results) -> str:
    m = results["machine"]
    lines = [
        f"# logstore benchmark ({results['profile']} profile, run {results['tag']})",
        "",
        f"{results['started_at']}, wall time {results['wall_s']:.0f} s. Machine: {m['cpus']} CPUs "
        f"({m['cpu_model']}), {m['ram_gib']} GiB RAM, Linux {m['kernel']}, Python {m['python']}, "
        f"Cassandra {m['cassandra']}, RabbitMQ {m['rabbitmq']}, PostgreSQL {m['postgresql']}. "
        f"Load average (1, 5, 15 min) at start {m['load_average_at_start']}, "
        f"at end {m.get('load_average_at_end')}: the machine is shared.",
        "",
        f"Verification: {results['verification']}",
        "",
        "## Headline",
        "",
        *headline(results),
        "",
        "## Side by side (saturation throughput; latency at the realistic pace, no viewers)",
        "",
        *baselines_table(results),
        "",
        "## Raw Cassandra ceilings (backlog: every chunk there at once, per-partition batches)",
        "",
        *ceiling_table(results),
        "",
        "## One ingester draining a pre-filled backlog",
        "",
        *backlog_table(results),
        "",
        "## Half of that peak offered live (paced jobs from several publisher processes, one ingester)",
        "",
        *half_peak_table(results),
        "",
        "## HTTP PUT into one ingester (wrk, a new chunk per request)",
        "",
        *http_put_table(results),
        "",
        "## A big log on Cassandra downloaded whole (curl, through `logstore serve`)",
        "",
        *big_download_table(results),
        "",
        "## Masked reads (a job with secrets) beside live viewers",
        "",
        *masked_reads_table(results),
        "",
        "## logstore",
        "",
        *ours_tables(results),
        "",
        "## Live jobs",
        "",
        *live_table(results),
        "",
        "## Steps (s)",
        "",
        ", ".join(f"{name} {seconds}" for name, seconds in results["steps_s"].items()),
        "",
    ]
    return "\n".join(lines)

"""The markdown report of a run: every figure, the baselines side by side, ours as ratios."""

from __future__ import annotations

from typing import Any

from benchmarks.plots import LABELS
from benchmarks.run import like_baselines


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _x(value: float) -> str:
    return f"{value:.2f}x"


def headline(results: dict[str, Any]) -> list[str]:
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


def baselines_table(results: dict[str, Any]) -> list[str]:
    sustained = results["ours"]["sustained"]
    realistic = like_baselines(results)
    lines = [
        "| system | chunks/s | MB/s | publish -> stored p50 / p95 / p99 ms | ours / it: chunks/s | "
        "ours / it: p50 | ours / it: p99 |",
        "|---|---|---|---|---|---|---|",
        f"| **logstore** ({sustained['ingesters']} ingesters) | {_n(sustained['chunks_per_s'])} | "
        f"{sustained['mb_per_s']:.2f} | {realistic['stored_p50_ms']:.1f} / "
        f"{realistic['stored_p95_ms']:.1f} / {realistic['stored_p99_ms']:.1f} | 1 | 1 | 1 |",
    ]
    for key, label in LABELS.items():
        base = results["baselines"][key]
        sat, real, ratio = base["saturation"], base["realistic"], results["ratios"][key]
        done = "" if sat["complete"] else f" (cut off: {sat['stored']:,}/{sat['chunks']:,} stored)"
        lines.append(
            f"| {label}{done} | {_n(sat['chunks_per_s'])} | {sat['mb_per_s']:.2f} | "
            f"{real['p50_ms']:.1f} / {real['p95_ms']:.1f} / {real['p99_ms']:.1f} | "
            f"{_x(ratio['chunks_per_s'])} | {_x(ratio['stored_p50_ms'])} | {_x(ratio['stored_p99_ms'])} |"
        )
    return lines


def ours_tables(results: dict[str, Any]) -> list[str]:
    ours = results["ours"]
    real, comp, dl, rss = ours["realistic"], ours["compaction"], ours["downloads"], ours["peak_rss_mib"]
    lines = [
        "| ingesters | chunks | seconds | chunks/s | MB/s | publish -> stored p50 / p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in ours["saturation"]:
        lines.append(
            f"| {r['ingesters']} | {r['chunks']:,} | {r['seconds']:.1f} | {_n(r['chunks_per_s'])} | "
            f"{r['mb_per_s']:.2f} | {r['stored_p50_ms']:.0f} / {r['stored_p99_ms']:.0f} |"
        )
    lines += [
        "",
        f"Realistic pace: {real['jobs']} jobs x one 1.6 KB chunk every 500 ms ({real['chunks']:,} chunks), "
        f"{real['ingesters']} ingesters, 1 streamer, {real['viewers']} viewers in the benchmark's process, "
        "all on the same cores "
        f"({real['viewers_exact']} received their log byte for byte).",
        "",
        "| figure | p50 | p95 | p99 / max |",
        "|---|---|---|---|",
        f"| publish -> stored (ingesters' histogram) | {real['stored_p50_ms']:.1f} ms | "
        f"{real['stored_p95_ms']:.1f} ms | {real['stored_p99_ms']:.1f} ms |",
        f"| publish -> viewer (every chunk at every viewer) | {real['viewer_p50_ms']:.1f} ms | "
        f"{real['viewer_p95_ms']:.1f} ms | {real['viewer_p99_ms']:.1f} ms |",
        f"| time to first log line (job start -> first byte at a viewer) | "
        f"{real['first_line_p50_ms']:.1f} ms | "
        f"{real['first_line_p95_ms']:.1f} ms | {real['first_line_max_ms']:.1f} ms (max) |",
        "",
        "| figure | value |",
        "|---|---|",
        "| stored -> viewer socket (streamer's histogram) p50 / p99 | "
        f"{real['stored_to_socket_p50_ms']:.1f} / "
        f"{real['stored_to_socket_p99_ms']:.1f} ms |",
        f"| streamer store catch-ups / viewer mailbox overflows | {real['streamer_store_reads']:,.0f} / "
        f"{real['streamer_viewer_lags']:,.0f} |",
        f"| CPU used during the run, cores (of {results['machine']['cpus']}) | "
        f"machine {real['cpu_share_machine']:.2f}: "
        f"ingesters {real['cpu_share_ingest']:.2f}, streamer {real['cpu_share_stream']:.2f}, "
        f"benchmark (publisher + viewers) {real['cpu_share_bench']:.2f}, the rest servers and other work |",
        f"| viewers following their jobs (tails subscribed) before the jobs start | "
        f"{real['viewers_connected']:.0f}, all within "
        f"{real.get('viewers_all_following_s', float('nan')):.2f} s "
        f"of the first connect |",
        f"| streamer RSS with every viewer connected / at the end | "
        f"{real['streamer_rss_mib_connected']:.0f} / "
        f"{real['streamer_rss_mib_end']:.0f} MiB ({real['streamer_kib_per_viewer']:.0f} KiB per viewer) |",
        f"| download from chunks | {dl['chunks']['mb_per_s']:.1f} MB/s ({dl['chunks']['mb']:.1f} MB, "
        f"{dl['chunks']['jobs_exact']}/{dl['chunks']['jobs']} byte-exact) |",
        f"| download from archives, plain | {dl['archive_plain']['mb_per_s']:.1f} MB/s "
        f"({dl['archive_plain']['jobs_exact']}/{dl['archive_plain']['jobs']} byte-exact) |",
        f"| download from archives, zstd passthrough | {dl['archive_zstd']['mb_per_s']:.1f} MB/s of log "
        f"({dl['archive_zstd']['wire_mb']:.2f} MB on the wire, {dl['archive_zstd']['jobs_exact']}/"
        f"{dl['archive_zstd']['jobs']} byte-exact) |",
        f"| compaction, wall (compactor launched -> all archived) | {comp['mb_per_s']:.2f} MB/s "
        f"({comp['raw_mb']:.1f} MB in {comp['seconds']:.1f} s, "
        f"{comp['jobs_compacted']}/{comp['jobs']} jobs) |",
        f"| compaction, busy (bytes / time inside archive_job) | {comp['busy_mb_per_s']:.2f} MB/s |",
        f"| compaction ratio (raw / compressed) | {comp['ratio']:.1f} |",
        "| peak RSS per process (VmHWM) | "
        + ", ".join(f"{name} {value:.0f} MiB" for name, value in rss.items())
        + " |",
    ]
    return lines


def live_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| live jobs | window s | offered chunks/s | published chunks/s | stored chunks/s | stored MB/s | "
        "backlog at window end | jobs stopped (confirm > 5 s) | publish -> stored p50 / p95 / p99 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in results["ours"]["live_jobs"]:
        lines.append(
            f"| {p['live_jobs']:,} | {p['window_s']:.1f} | {_n(p['offered_chunks_per_s'])} | "
            f"{_n(p['published_chunks_per_s'])} | {_n(p['stored_chunks_per_s'])} | "
            f"{p['stored_mb_per_s']:.2f} | "
            f"{_n(p['backlog_chunks'])} | {p['publish_errors']:,} | {p['stored_p50_ms']:.0f} / "
            f"{p['stored_p95_ms']:.0f} / {p['stored_p99_ms']:.0f} |"
        )
    return lines


def ceiling_table(results: dict[str, Any]) -> list[str]:
    raw = results["baselines"]["cassandra_raw"]
    lines = [
        "Fleet shape (each job's chunks one after the other, one INSERT each): "
        + ", ".join(f"{d} {_n(f['chunks_per_s'])} chunks/s" for d, f in raw["saturation_by_driver"].items()),
        "",
        "| chunk bytes | driver | rows per statement | chunks/s | MB/s | client CPU us per chunk |",
        "|---|---|---|---|---|---|",
    ]
    for row in raw["backlog"]:
        lines.append(
            f"| {row['chunk_bytes']:,} | {row['driver']} | {row['rows_per_batch']} | "
            f"{_n(row['chunks_per_s'])} | {row['mb_per_s']:.1f} | {row['cpu_us_per_chunk']:.0f} |"
        )
    return lines


def backlog_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| chunk bytes | write path driver | chunks | published chunks/s | drained chunks/s | MB/s "
        "| ingester CPU us per chunk |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["ours"]["backlog"]:
        cut = "" if row["complete"] else " (cut off)"
        lines.append(
            f"| {row['chunk_bytes']:,} | {row.get('driver', 'cassandra-driver')} | {row['chunks']:,}{cut} | "
            f"{_n(row['publish_chunks_per_s'])} | "
            f"{_n(row['chunks_per_s'])} | {row['mb_per_s']:.1f} | {row['ingest_cpu_us_per_chunk']:.0f} |"
        )
    return lines


def http_put_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| chunk bytes | connections | chunks/s | MB/s | errors | stored | server CPU us per chunk "
        "| p50 / p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["ours"].get("http_put", []):
        lines.append(
            f"| {row['chunk_bytes']:,} | {row['connections']} | {_n(row['chunks_per_s'])} | "
            f"{row['mb_per_s']:.1f} | {row['errors']:,} | {row['stored']:,.0f} | "
            f"{row['server_cpu_us_per_chunk']:.0f} | {row['p50_ms']:.1f} / {row['p99_ms']:.1f} |"
        )
    return lines


def big_download_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| log | chunk bytes | chunks | from chunks: MB/s, first byte ms (best; worst) "
        "| from the archive: MB/s, first byte ms (best; worst) | byte-exact |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["ours"].get("big_download", []):
        c, a = row["from_chunks"], row["from_archive"]
        lines.append(
            f"| {row['mb']:.1f} MB | {row['chunk_bytes']:,} | {row['chunks']:,} | "
            f"{c['mb_per_s']:.0f}, {c['first_byte_ms']:.1f} ({c['mb_per_s_worst']:.0f}, "
            f"{c['first_byte_ms_worst']:.1f}) | {a['mb_per_s']:.0f}, {a['first_byte_ms']:.1f} "
            f"({a['mb_per_s_worst']:.0f}, {a['first_byte_ms_worst']:.1f}) | {row['exact']} |"
        )
    return lines


def half_peak_table(results: dict[str, Any]) -> list[str]:
    half = results["ours"].get("half_peak")
    if not half:
        return []
    return [
        "| peak (1.6 KB drain) | offered | sent | jobs | publishers | publish -> stored p50 / p95 / p99 ms "
        "| first line p50 / p99 ms | viewers exact | machine CPU, cores |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {_n(half['peak_chunks_per_s'])} | {_n(half['offered_chunks_per_s'])} | "
        f"{_n(half['sent_chunks_per_s'])} | {half['jobs']:,} | {half['publishers']} | "
        f"{half['stored_p50_ms']:.1f} / {half['stored_p95_ms']:.1f} / {half['stored_p99_ms']:.1f} | "
        f"{half['first_line_p50_ms']:.1f} / {half['first_line_p99_ms']:.1f} | "
        f"{half['viewers_exact']}/{half['viewers']} | {half['cpu_share_machine']:.2f} |",
    ]


def masked_reads_table(results: dict[str, Any]) -> list[str]:
    masked = results["ours"].get("masked_reads")
    if not masked:
        return []
    alone = masked["alone"]
    names = {
        "cold_range_0_0": "`Range: bytes=0-0`, index cold",
        "range_0_0": "`Range: bytes=0-0`",
        "range_1mib": "1 MiB range in the middle",
        "reconnect": "tail reconnect 10 clocks from the end, to its first frame",
    }
    lines = [
        f"A {masked['log_mb']:.0f} MB log (1 MiB chunks) with {masked['secrets']} secrets, one streamer.",
        "",
        "| request, alone | wall ms | streamer CPU ms |",
        "|---|---|---|",
        *(f"| {names[k]} | {alone[k]['wall_ms']:.1f} | {alone[k]['cpu_ms']:.0f} |" for k in names),
        "",
        "| live viewers' frames, publish -> viewer | p50 ms | p99 ms | max ms | streamer stored -> sent p99 "
        "| streamer loop lag p99 | protection read p99 |",
        "|---|---|---|---|---|---|---|",
    ]
    for window, title in (
        ("quiet", "quiet"),
        ("loaded", f"{masked['concurrency']} masked requests in flight"),
    ):
        lines.append(
            f"| {title} ({masked[f'{window}_frames']:,} frames) | {masked[f'{window}_p50_ms']:.1f} | "
            f"{masked[f'{window}_p99_ms']:.1f} | {masked[f'{window}_max_ms']:.1f} | "
            f"{masked[f'{window}_stored_to_sent_p99_ms']:.1f} | "
            f"{masked[f'{window}_streamer_loop_lag_p99_ms']:.1f} | "
            f"{masked[f'{window}_protection_read_p99_ms']:.1f} |"
        )
    lines += [
        "",
        f"Under load: {masked['load_requests']:,} masked requests ({masked['load_requests_per_s']:.1f}/s), "
        f"{masked['load_exact']:,} byte-exact, {masked['load_errors']} errors; this process's own loop lag "
        f"p99 {masked['bench_loop_lag_p99_ms']:.1f} ms.",
    ]
    return lines


def render(results: dict[str, Any]) -> str:
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

"""The soak's summary.md (the verdict, a table of every process's memory and descriptors and one of
every sample) and whether the run passed."""

from __future__ import annotations

from benchmarks.harness.markdown import table
from benchmarks.soak.results import SoakResults
from benchmarks.soak.run import RSS_TOLERANCE


def summary(results: SoakResults) -> str:
    verdict, logs, viewers = results["verdict"], results["logs"], results["viewers"]
    peak = results.get("peak")
    settled = verdict.get("settled_minute", 0)
    how = "- rate given: "
    if peak:
        grew = peak["backlog_grew"]
        how = f"- peak measured first: {peak['stored_per_s']:.0f} chunks/s stored with "
        how += f"{peak['offered_per_s']:.0f}/s offered (backlog grew: {grew}); the soak offered half: "
    processes = table(
        ("process", "RSS at settled minute, MiB", "RSS at end", "change", "fds settled", "fds end"),
        [
            (
                name,
                f"{p['rss_settled']:.1f}",
                f"{p['rss_end']:.1f}",
                f"{p['rss_change']:+.1%}",
                p["fds_settled"],
                p["fds_end"],
            )
            for name, p in verdict["processes"].items()
        ],
    )
    samples = table(
        ("minute", "stored/s", "ingest queue", "publish->stored p50 / p99 ms", "stored->sent p99 ms", "load"),
        [
            (
                f"{row['minute']:.1f}",
                f"{row['stored_per_s']:.0f}",
                row["queues"]["ingest"],
                f"{row['stored_p50_ms']:.0f} / {row['stored_p99_ms']:.0f}",
                f"{row['sent_p99_ms']:.0f}",
                f"{row['load_average']:.1f}",
            )
            for row in results["samples"]
        ],
    )
    lines = [
        f"# Soak {results['tag']}",
        "",
        f"- started {results['started_at']}, {results['options']['minutes']:g} minutes of load",
        how + f"{results['rate_per_s']:.0f} chunks/s of {results['options']['mix']} chunks",
        f"- {results['jobs']} jobs ({results['jobs_started']} started), {results['chunks_sent']} chunks, "
        f"{results['publish_retries']} publishes retried",
        f"- logs checked byte for byte: {logs['exact']} exact, {logs['differ']} differ; "
        f"not compacted at the end: {results['not_compacted']}; backlog drained: {results['drained']}",
        f"- viewers: {viewers['sessions']} sessions ({viewers['ended']} saw their job's end, "
        f"{viewers['failed']} failed), {viewers['frames']} frames, "
        f"{viewers['wrong_bytes']} with wrong bytes, {viewers['out_of_order']} out of order",
        f"- memory held (every process within {RSS_TOLERANCE:.0%} of minute {settled:g}): "
        f"{verdict['rss_ok']}; descriptors flat: {verdict['fds_ok']}",
        "",
        processes,
        "",
        samples,
    ]
    return "\n".join(lines) + "\n"


def passed(results: SoakResults) -> bool:
    viewers = results["viewers"]
    return bool(
        results["logs"]["differ"] == 0
        and results["jobs"] == results["jobs_started"]
        and results["not_compacted"] == 0
        and results["drained"]
        and viewers["wrong_bytes"] == 0
        and viewers["out_of_order"] == 0
        and results["verdict"]["rss_ok"]
        and results["verdict"]["fds_ok"]
    )

"""The search of a 100 MB archived log through the HTTP API of a real `logstore serve`.

    python -m benchmarks.steps.search [--mib 100] [--store sqlite|cassandra://...] [--runs 5]

Builds a log of MIB MiB (100 MiB = 104,857,600 bytes) from the corpus (its real CI logs
repeated up to the size, with a word found only near the end), stores it as 1 MiB chunks,
compacts it (1 MiB zstd segments, as by default), serves it, then times whole-log searches that
must read every byte: the rare word, the same case-insensitive, and a regex. It checks that the
lines and byte offsets found are those of `grep -n -b` on the same bytes. Prints one line per
query: best and median wall time of the complete HTTP answer over `--runs`, and the throughput.
Exit 1 when an answer differs from grep's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from benchmarks.harness.corpus import corpus_files, split
from benchmarks.harness.processes import serving
from compactor.archive_job import ArchiveJob, Outcome
from logstore.chunk import Chunk
from logstore.config import CompactSettings
from logstore.store import LogStore
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.sqlite import SQLiteStore

JOB = "bench-search"
NEEDLE = b"zebrafish-7f3a"  # in no corpus log
MiB = 1024 * 1024
QUERIES = [  # (API parameters, grep flags)
    ({"q": NEEDLE.decode()}, ["-F", NEEDLE.decode()]),
    ({"q": NEEDLE.decode().upper(), "case": "insensitive"}, ["-i", "-F", NEEDLE.decode()]),
    ({"q": r"zebra\w+-[0-9a-f]{4}$", "regex": "true"}, ["-E", r"zebra[[:alnum:]_]+-[0-9a-f]{4}$"]),
]


def build_log(size: int) -> bytes:
    corpus = b"".join(path.read_bytes() for path in corpus_files())
    if not corpus.endswith(b"\n"):
        corpus += b"\n"
    tail = b"".join(
        f"tail line {i}: {'found ' + NEEDLE.decode() if i % 10 == 3 else 'nothing'}\n".encode()
        for i in range(40)
    )
    body = (corpus * (size // len(corpus) + 1))[: size - len(tail)]
    return body + tail


async def store_and_compact(store: LogStore, log: bytes) -> None:
    pieces = split(log, MiB)
    for clock, piece in enumerate(pieces):  # one at a time: a shared, busy Cassandra times out otherwise
        await store.put_chunks([Chunk(JOB, clock, piece, final=clock == len(pieces) - 1)])
    outcome = await ArchiveJob(store, CompactSettings(grace_s=0.1), "bench").run(JOB)
    if outcome is not Outcome.COMPACTED:
        raise SystemExit(f"compaction: {outcome}")
    await store.close()


def grep(path: Path, flags: list[str]) -> list[tuple[int, int]]:
    done = subprocess.run(
        ["grep", "-a", "-n", "-b", *flags, str(path)], capture_output=True, env={"LC_ALL": "C"}
    )
    return [(int(n), int(o)) for n, o, _ in (line.split(b":", 2) for line in done.stdout.splitlines())]


def timed_search(base: str, params: dict[str, str]) -> tuple[float, list[tuple[int, int]]]:
    started = time.perf_counter()
    response = httpx.get(f"{base}/v1/jobs/{JOB}/search", params={**params, "limit": "1000"}, timeout=60)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    *matches, end = [json.loads(line) for line in response.text.splitlines()]
    if end["type"] != "end" or end["next_cursor"] is not None:
        raise SystemExit(f"unexpected end of the answer: {end}")
    return elapsed, [(m["line"], m["offset"]) for m in matches]


@contextlib.contextmanager
def _deleted_after(kind: str, url: str) -> Iterator[None]:
    """Remove the benchmark's job from a shared Cassandra keyspace when done (a SQLite file goes
    with its temporary folder)."""
    try:
        yield
    finally:
        if kind != "sqlite":

            async def delete() -> None:
                store = await CassandraStore.connect(url)
                await store.delete_job(JOB)
                await store.close()

            asyncio.run(delete())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=100, help="size of the log in MiB")
    parser.add_argument("--store", default="sqlite", help="sqlite (a fresh file) or a cassandra:// URL")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as folder:
        workdir = Path(folder)
        log = build_log(args.mib * MiB)
        source = workdir / "log"
        source.write_bytes(log)
        url = f"sqlite:///{workdir}/logstore.db" if args.store == "sqlite" else args.store

        async def prepare() -> None:
            store: LogStore = (
                SQLiteStore(workdir / "logstore.db")
                if args.store == "sqlite"
                else (await CassandraStore.connect(url))
            )
            await store.delete_job(JOB)
            await store_and_compact(store, log)

        asyncio.run(prepare())
        print(f"log: {len(log):,} bytes, archived; store {args.store}", flush=True)
        wrong = 0
        with serving(url, workdir) as base, _deleted_after(args.store, url):
            for params, flags in QUERIES:
                expected = grep(source, flags)
                times = []
                for _ in range(args.runs):
                    elapsed, found = timed_search(base, params)
                    times.append(elapsed)
                    wrong += found != expected
                best, median = min(times), statistics.median(times)
                print(
                    f"search {params}: {len(expected)} lines, best {best:.3f} s, median {median:.3f} s, "
                    f"{len(log) / best / 1e6:.0f} MB/s; offsets == grep -b: {found == expected}",
                    flush=True,
                )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

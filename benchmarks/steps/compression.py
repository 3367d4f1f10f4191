"""Compression of the corpus as the compactor does it: each file cut into segments of whole
1600-byte chunks (1 MiB per segment), one zstd frame per segment, at --level; with and without a
dictionary trained on the *other* corpus files (leave one out, so no file is compressed with a
dictionary that has seen it). Reports ratio and compression MB/s per file.
Results: results/compression.{json,md}.

    python -m benchmarks.steps.compression [--level 6] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.harness.corpus import corpus_files
from benchmarks.harness.markdown import table
from compactor.dictionary import train
from compactor.segmenter import Segmenter

RESULTS = Path(__file__).resolve().parents[2] / "results"
CHUNK = 1600


def compress(data: bytes, level: int, dictionary: bytes | None) -> tuple[int, int]:
    """(compressed bytes, dictionary id used) of `data` archived like the compactor does."""
    segmenter = Segmenter(level, 1024 * 1024, dictionary)
    frames = []
    for clock, start in enumerate(range(0, len(data), CHUNK)):
        frames += segmenter.add(clock, data[start : start + CHUNK])
    frames += segmenter.flush()
    return sum(len(s.frame) for s in frames), segmenter.dictionary_id


def measure(data: bytes, level: int, dictionary: bytes | None, repeat: int) -> tuple[float, float, bool]:
    started = time.perf_counter()
    for _ in range(repeat):
        size, used = compress(data, level, dictionary)
    seconds = (time.perf_counter() - started) / repeat
    return len(data) / max(1, size), len(data) / seconds / 1e6, bool(used)


def main(args: argparse.Namespace) -> list[dict[str, object]]:
    files = corpus_files()
    rows: list[dict[str, object]] = []
    for path in files:
        data = path.read_bytes()
        dictionary = train([p.read_bytes() for p in files if p != path], 16 * 1024)
        ratio, speed, _ = measure(data, args.level, None, args.repeat)
        dict_ratio, dict_speed, used = measure(data, args.level, dictionary, args.repeat)
        rows.append(
            {
                "file": f"{path.parent.name}/{path.name}",
                "bytes": len(data),
                "ratio": ratio,
                "mb_per_s": speed,
                "dict_ratio": dict_ratio,
                "dict_mb_per_s": dict_speed,
                "dict_used": used,
            }
        )
    return rows


def report(rows: list[dict[str, object]], level: int) -> str:
    headers = ("file", "bytes", "ratio", "MB/s", "ratio with dict", "MB/s with dict", "used")
    cells = [
        (
            r["file"],
            r["bytes"],
            f"{r['ratio']:.2f}",
            f"{r['mb_per_s']:.1f}",
            f"{r['dict_ratio']:.2f}",
            f"{r['dict_mb_per_s']:.1f}",
            "yes" if r["dict_used"] else "no",
        )
        for r in rows
    ]
    return (
        f"Compression of corpus/ as archived (zstd level {level}, 1600-byte chunks, 1 MiB segments); "
        "dictionary: 16 KiB trained on the other files; 'used' = the compactor kept it (>= 2% smaller)\n\n"
        + table(headers, cells)
        + "\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=20)
    arguments = parser.parse_args()
    result = main(arguments)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "compression.json").write_text(json.dumps(result, indent=2))
    text = report(result, arguments.level)
    (RESULTS / "compression.md").write_text(text)
    print(text)

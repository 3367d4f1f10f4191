"""`logstore dict train --out FILE LOG...`: train a zstd dictionary on sample CI logs, for
`--zstd-dictionary` of the compactors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    parser = commands.add_parser("dict", help="zstd dictionaries for archives")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = actions.add_parser("train", help="train a dictionary on sample logs")
    train.add_argument("logs", nargs="+", help="sample log files")
    train.add_argument("--out", required=True, help="where to write the dictionary")
    train.add_argument(
        "--size", type=int, default=64 * 1024, help="dictionary size in bytes (default 64 KiB)"
    )
    train.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    import zstandard

    from compactor.dictionary import train

    try:
        logs = [Path(path).read_bytes() for path in args.logs]
        data = train(logs, args.size)
        Path(args.out).write_bytes(data)
    except (OSError, ValueError) as exc:
        print(f"logstore dict train: {exc}", file=sys.stderr)
        return 2
    ident = zstandard.ZstdCompressionDict(data).dict_id()
    print(f"dictionary {ident}: {len(data)} bytes from {len(logs)} log(s), written to {args.out}")
    return 0

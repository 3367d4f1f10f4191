"""`logstore grep J PATTERN`: the lines of a job's log that hold PATTERN, searched on the server
(`GET /v1/jobs/{job_id}/search`, page after page).

Exit codes are grep's, not the other commands': 0 a line matched, 1 none did, 2 an error (the
job unknown or refused, a bad pattern, the server unreachable).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import httpx

from logstore.cli.client import TIMEOUT, auth_headers, explain
from logstore.cli.options import add_client_flags, job_id_arg

FOUND, NONE, ERROR = 0, 1, 2
PAGE = 1000


def register(commands: Any) -> None:
    parser = commands.add_parser("grep", help="print the lines of a job's log that match a pattern")
    parser.add_argument("job", type=job_id_arg, help="job id")
    parser.add_argument("pattern", help="text to find (a regex with -E)")
    parser.add_argument("-E", "--regex", action="store_true", help="PATTERN is an RE2 regex")
    parser.add_argument("-i", "--ignore-case", action="store_true", help="ignore case")
    parser.add_argument("-n", "--line-number", action="store_true", help="prefix each line with its number")
    parser.add_argument("-b", "--byte-offset", action="store_true", help="prefix each line with its offset")
    parser.add_argument("-m", "--max-count", type=int, default=0, help="stop after this many lines (0: all)")
    add_client_flags(parser, "LOGSTORE_READ_TOKEN")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    params: dict[str, str] = {"q": args.pattern}
    if args.regex:
        params["regex"] = "true"
    if args.ignore_case:
        params["case"] = "insensitive"
    printed = 0
    cursor: str | None = None
    try:
        with httpx.Client(base_url=args.server, timeout=TIMEOUT, headers=auth_headers(args.token)) as client:
            while True:
                wanted = PAGE if args.max_count <= 0 else min(PAGE, args.max_count - printed)
                page = {**params, "limit": str(wanted), **({"cursor": cursor} if cursor else {})}
                response = client.get(f"/v1/jobs/{args.job}/search", params=page)
                if response.status_code != 200:
                    print(f"logstore grep: {args.job}: {explain(response)}", file=sys.stderr)
                    return ERROR
                records = [json.loads(line) for line in response.text.splitlines()]
                if not records or records[-1].get("type") != "end":
                    print(f"logstore grep: {args.job}: the answer was cut short", file=sys.stderr)
                    return ERROR
                for match in records[:-1]:
                    print(_format(match, args))
                    printed += 1
                cursor = records[-1]["next_cursor"]
                if cursor is None or (args.max_count > 0 and printed >= args.max_count):
                    break
    except httpx.TransportError as exc:
        print(f"logstore grep: cannot reach {args.server}: {exc}", file=sys.stderr)
        return ERROR
    sys.stdout.flush()
    return FOUND if printed else NONE


def _format(match: dict[str, Any], args: argparse.Namespace) -> str:
    prefix = ""
    if args.line_number:
        prefix += f"{match['line']}:"
    if args.byte_offset:
        prefix += f"{match['offset']}:"
    return prefix + str(match["text"])

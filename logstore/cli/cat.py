"""`logstore cat J`: write a job's log to stdout, byte for byte as stored."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from logstore.cli.client import TIMEOUT, auth_headers, explain
from logstore.cli.options import add_client_flags, job_id_arg


def register(commands: Any) -> None:
    parser = commands.add_parser("cat", help="write a job's log to stdout")
    parser.add_argument("job", type=job_id_arg, help="job id")
    add_client_flags(parser, "LOGSTORE_READ_TOKEN")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    try:
        # identity: the bytes as stored, whatever the client library makes of multi-frame zstd
        headers = {**auth_headers(args.token), "Accept-Encoding": "identity"}
        client = httpx.Client(base_url=args.server, timeout=TIMEOUT, headers=headers)
        with client, client.stream("GET", f"/v1/jobs/{args.job}/log") as response:
            if response.status_code != 200:
                response.read()
                print(f"logstore cat: {args.job}: {explain(response)}", file=sys.stderr)
                return 1
            for piece in response.iter_bytes():
                out.write(piece)
            out.flush()
            if response.headers.get("log-complete") != "true":
                print(f"logstore cat: {args.job}: the log is not complete (yet)", file=sys.stderr)
    except httpx.TransportError as exc:
        print(f"logstore cat: cannot reach {args.server}: {exc}", file=sys.stderr)
        return 3
    return 0

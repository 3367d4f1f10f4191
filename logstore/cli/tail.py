"""`logstore tail J [--from-clock K]`: follow a job's log over the websocket and write its bytes to
stdout exactly as stored; after a dropped connection, reconnect with from_clock = last + 1 and
resume exactly. Exits 0 at the end of the log."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from typing import Any, BinaryIO
from urllib.parse import quote

from logstore.cli.client import auth_headers
from logstore.cli.options import add_client_flags, job_id_arg
from logstore.tail_frame import unframe

FATAL_CLOSE_CODES = {4400: 2, 4401: 1, 4403: 1}  # close code -> exit code; others: reconnect
MAX_FRAME = 16 * 1024 * 1024


class TailFailed(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def register(commands: Any) -> None:
    parser = commands.add_parser("tail", help="follow a job's log live, to stdout")
    parser.add_argument("job", type=job_id_arg, help="job id")
    parser.add_argument("--from-clock", type=int, default=0, help="first clock to show (default 0)")
    parser.add_argument(
        "--give-up-after", type=int, default=20, help="failed reconnects in a row before exit 3"
    )
    add_client_flags(parser, "LOGSTORE_READ_TOKEN")
    parser.set_defaults(run=run)


def tail_url(server: str, job: str, from_clock: int) -> str:
    base = server.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return f"{base}/v1/jobs/{quote(job, safe='')}/tail?from_clock={from_clock}"


async def follow(args: argparse.Namespace, out: BinaryIO) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

    next_clock = args.from_clock
    failures = 0
    while True:
        try:
            url = tail_url(args.server, args.job, next_clock)
            async with connect(
                url, additional_headers=auth_headers(args.token), max_size=MAX_FRAME
            ) as socket:
                async for message in socket:
                    if isinstance(message, bytes):
                        clock, data = unframe(message)
                        if clock != next_clock:
                            raise TailFailed(f"server sent clock {clock}, expected {next_clock}", 1)
                        out.write(data)
                        out.flush()
                        next_clock, failures = clock + 1, 0
                    else:
                        control = json.loads(message)
                        if control.get("type") == "end":
                            return
                        if control.get("type") == "gap":  # an abandoned job never received these
                            hole = f"{control['from_clock']}-{control['to_clock']}"
                            print(f"logstore tail: clocks {hole} never arrived", file=sys.stderr)
                            next_clock = control["to_clock"] + 1
                code = socket.close_code
                reason = socket.close_reason
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            reason = exc.rcvd.reason if exc.rcvd else str(exc)
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            code, reason = None, str(exc)
        except InvalidURI as exc:
            raise TailFailed(f"bad server URL: {exc}", 2) from exc
        if code in FATAL_CLOSE_CODES:
            raise TailFailed(f"refused ({code}): {reason}", FATAL_CLOSE_CODES[code])
        failures += 1
        if failures > args.give_up_after:
            raise TailFailed(f"gave up after {failures - 1} reconnects: {reason}", 3)
        await asyncio.sleep(min(5.0, 0.1 * 2**failures) * random.uniform(0.5, 1.0))


def run(args: argparse.Namespace) -> int:
    try:
        asyncio.run(follow(args, sys.stdout.buffer))
    except TailFailed as exc:
        print(f"logstore tail: {args.job}: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0

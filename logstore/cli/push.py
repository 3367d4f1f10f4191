"""`logstore push --job J FILE`: cut a file (or stdin) into chunks and send them, concurrently,
with retries; the last chunk carries final=true. Exits 0 once every chunk is stored."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, BinaryIO

import httpx
from tqdm import tqdm

from logstore.chunk import validate_job_id
from logstore.cli.client import TIMEOUT, RetryableStatus, auth_headers, explain, retrying
from logstore.cli.options import add_client_flags
from logstore.errors import BusUnavailable, InvalidInput

DEFAULT_CHUNK_BYTES = 64 * 1024
DEFAULT_CONCURRENCY = 8
PROGRESS_FROM_BYTES = 1024 * 1024  # show a progress bar for files larger than this


class PushRefused(Exception):
    pass


def register(commands: Any) -> None:
    parser = commands.add_parser("push", help="send a file or stdin as a job's log")
    parser.add_argument("--job", required=True, help="job id: 1-128 characters of A-Z a-z 0-9 . _ -")
    parser.add_argument("file", help="file to send, or - for stdin")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_BYTES, help="bytes per chunk")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="requests in flight")
    parser.add_argument("--no-final", action="store_true", help="leave the job running (no final chunk)")
    parser.add_argument(
        "--private", action="store_true", help="make the job private (read token or signed URL)"
    )
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: for files over 1 MiB on a terminal)")  # fmt: skip
    parser.add_argument("--retries", type=int, default=8, help="attempts per chunk on 429/503/network errors")
    parser.add_argument("--via", choices=("http", "amqp"), default="http", help="send over HTTP or RabbitMQ")
    parser.add_argument(
        "--bus",
        default=os.environ.get("LOGSTORE_BUS", "amqp://guest:guest@127.0.0.1:5672/"),
        help="with --via amqp: the broker (LOGSTORE_BUS)",
    )
    add_client_flags(parser, "LOGSTORE_WRITE_TOKEN")
    parser.set_defaults(run=run)


def chunks_of(stream: BinaryIO, size: int) -> Iterator[tuple[int, bytes, bool]]:
    """(clock, bytes, is_last) for each piece; an empty input is one empty final chunk."""
    clock = 0
    current = stream.read(size)
    while True:
        following = stream.read(size) if current else b""
        last = not following
        yield clock, current, last
        if last:
            return
        clock, current = clock + 1, following


Send = Callable[[int, bytes, bool], Awaitable[None]]


@asynccontextmanager
async def http_sender(args: argparse.Namespace) -> AsyncIterator[Send]:
    limits = httpx.Limits(max_connections=args.concurrency)
    headers = auth_headers(args.token)
    async with httpx.AsyncClient(
        base_url=args.server, timeout=TIMEOUT, limits=limits, headers=headers
    ) as client:
        yield lambda clock, data, final: put(client, args.job, clock, data, final, args.retries, args.private)


@asynccontextmanager
async def amqp_sender(args: argparse.Namespace) -> AsyncIterator[Send]:
    from logstore.bus.publisher import ChunkPublisher
    from logstore.config import BusSettings

    publisher = await ChunkPublisher.connect(BusSettings(bus=args.bus))
    try:
        yield lambda clock, data, final: publisher.publish(args.job, clock, data, final, private=args.private)
    finally:
        await publisher.close()


async def push(args: argparse.Namespace, stream: BinaryIO, total: int | None) -> int:
    """Send every chunk, at most `--concurrency` at a time; return how many were sent."""
    sent = 0
    in_flight: set[asyncio.Task[None]] = set()
    show = args.progress if args.progress is not None else (total or 0) > PROGRESS_FROM_BYTES
    bar = tqdm(total=total, unit="B", unit_scale=True, disable=not show, file=sys.stderr)
    sender = amqp_sender(args) if args.via == "amqp" else http_sender(args)
    async with sender as send:

        async def send_one(clock: int, data: bytes, final: bool) -> None:
            await send(clock, data, final)
            bar.update(len(data))

        try:
            for clock, data, last in chunks_of(stream, args.chunk_size):
                while len(in_flight) >= args.concurrency:
                    done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    in_flight.difference_update(done)
                    for task in done:
                        task.result()
                in_flight.add(asyncio.create_task(send_one(clock, data, last and not args.no_final)))
                sent += 1
            for finished in asyncio.as_completed(list(in_flight)):
                await finished
        finally:
            for task in in_flight:
                task.cancel()
            bar.close()
    return sent


async def put(
    client: httpx.AsyncClient,
    job_id: str,
    clock: int,
    data: bytes,
    final: bool,
    attempts: int,
    private: bool = False,
) -> None:
    url = f"/v1/jobs/{job_id}/chunks/{clock}"
    params = {**({"final": "true"} if final else {}), **({"private": "true"} if private else {})} or None
    async for attempt in retrying(attempts):
        with attempt:
            response = await client.put(url, content=data, params=params)
            if response.status_code in (200, 201):
                return
            if response.status_code in (429, 502, 503, 504):
                raise RetryableStatus(response)
            raise PushRefused(f"clock {clock}: {explain(response)}")


def run(args: argparse.Namespace) -> int:
    try:
        validate_job_id(args.job)
    except InvalidInput as exc:
        print(f"logstore push: {exc}", file=sys.stderr)
        return 2
    if min(args.chunk_size, args.concurrency, args.retries) < 1:
        print("logstore push: --chunk-size, --concurrency and --retries must be at least 1", file=sys.stderr)
        return 2
    try:
        if args.file == "-":
            count = asyncio.run(push(args, sys.stdin.buffer, None))
        else:
            with open(args.file, "rb") as handle:
                count = asyncio.run(push(args, handle, os.fstat(handle.fileno()).st_size))
    except OSError as exc:
        print(f"logstore push: {exc}", file=sys.stderr)
        return 2
    except PushRefused as exc:
        print(f"logstore push: refused: {exc}", file=sys.stderr)
        return 1
    except RetryableStatus as exc:
        print(f"logstore push: gave up: {explain(exc.response)}", file=sys.stderr)
        return 3
    except httpx.TransportError as exc:
        print(f"logstore push: cannot reach {args.server}: {exc}", file=sys.stderr)
        return 3
    except BusUnavailable as exc:
        print(f"logstore push: {exc}", file=sys.stderr)
        return 3
    print(f"pushed {count} chunk(s) to job {args.job}", file=sys.stderr)
    return 0

"""Masked reads on a 100 MiB log with 100 registered secrets, in process, on SQLite in a temp dir:

    python -m benchmarks.masked_reads [--mib 100] [--secrets 100]

Times (wall and CPU) a `Range: bytes=0-0` (first with a cold index, then warm), a 1 MiB range
in the middle and a tail reconnect near the end (to its first frame), then 20 of them at once,
with the event loop's lag sampled every millisecond meanwhile: the delay a live viewer's frame
served by the same loop would see (its p99 and max). Secrets: one in ten is a piece of the log
(so it occurs), the others random tokens of 8-40 characters. docs/performance.md, "Masking".
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from benchmarks.corpus import corpus_files
from benchmarks.quantiles import percentile
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.cli.app import build_app
from logstore.config import Settings
from logstore.store.sqlite import SQLiteStore
from stream.fanout import LiveHub
from stream.masked_tail import MaskedTail
from stream.tail import ChunkEvent, Tail

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def secrets_for(corpus: bytes, count: int) -> list[bytes]:
    rng = random.Random(count)
    out: list[bytes] = []
    for i in range(count):
        if i % 10 == 0:
            at = rng.randrange(len(corpus) - 40)
            out.append(corpus[at : at + rng.randint(8, 40)])
        else:
            out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(8, 40))).encode())
    return out


async def run(mib: int, count: int, directory: str) -> None:
    corpus = b"".join(p.read_bytes() for p in corpus_files())
    size = mib * 2**20
    log = (corpus * (size // len(corpus) + 1))[:size]
    secrets = secrets_for(corpus, count)
    store = SQLiteStore(Path(directory) / "db.sqlite")
    await store.add_secrets("big", secrets)
    pieces = [log[i : i + 2**20] for i in range(0, len(log), 2**20)]
    await store.put_chunks(
        [Chunk.create("big", c, p, final=c == len(pieces) - 1) for c, p in enumerate(pieces)]
    )
    app = build_app(Settings({"store": "sqlite:///unused"}), store, MemoryBus())
    lags: list[float] = []

    async def ticker() -> None:
        while True:
            at = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - at - 0.001)

    tick = asyncio.create_task(ticker())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=600) as api:

        async def ranged(first: int, last: int) -> int:
            answer = await api.get("/v1/jobs/big/log", headers={"Range": f"bytes={first}-{last}"})
            assert answer.status_code == 206, answer.status_code
            return len(answer.content)

        async def reconnect() -> int:
            events = MaskedTail(Tail(store, LiveHub(MemoryBus()), "big", len(pieces) - 10), secrets).events()
            try:
                async for event in events:
                    if isinstance(event, ChunkEvent):
                        return len(event.data)
            finally:
                await events.aclose()  # type: ignore[attr-defined]
            return 0

        async def timed(name: str, work: Callable[[], Awaitable[object]]) -> None:
            lags.clear()
            wall, cpu = time.perf_counter(), time.process_time()
            await work()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            lag = f"loop lag p99 {percentile(lags, 99) * 1000:5.1f} ms, max {max(lags or [0]) * 1000:5.1f} ms"
            print(f"{name:44s} {wall:7.3f} s  cpu {cpu:7.3f} s  {lag}", flush=True)

        middle = size // 2
        await timed("Range: bytes=0-0 (cold index)", lambda: ranged(0, 0))
        await timed("Range: bytes=0-0", lambda: ranged(0, 0))
        await timed("1 MiB range in the middle", lambda: ranged(middle, middle + 2**20 - 1))
        await timed("tail reconnect 10 clocks from the end", reconnect)

        async def twenty() -> None:
            kinds = [lambda: ranged(0, 0), lambda: ranged(middle, middle + 2**20 - 1), reconnect]
            await asyncio.gather(*(kinds[i % 3]() for i in range(20)))

        await timed("20 of them at once", twenty)
    tick.cancel()
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--secrets", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(run(args.mib, args.secrets, directory))


if __name__ == "__main__":
    main()

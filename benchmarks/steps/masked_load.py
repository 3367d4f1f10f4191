"""The load process of the masked-reads benchmark: CONCURRENCY clients, each sending one masked
request after another for SECONDS (a `Range: bytes=0-0`, a 1 MiB range in the middle, a tail
reconnect to its first frame, in turn), every answer checked byte for byte. Run in a process of
its own so that its work does not delay the bench process's viewers, whose frames are measured.

    python -m benchmarks.steps.masked_load BASE JOB SIZE SECRETS CONCURRENCY SECONDS

Prints one JSON object: requests, exact, errors, and each kind's wall times in ms.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import httpx
from websockets.asyncio.client import connect

from benchmarks.harness.viewer import CLOCK, tail_url
from benchmarks.steps.masked_log import MaskedLog


class Load:
    def __init__(self, base: str, job: str, log: MaskedLog) -> None:
        self.base, self.job, self.log = base, job, log
        self.url = f"{base}/v1/jobs/{quote(job, safe='')}/log"
        self.times: dict[str, list[float]] = {"range_0_0": [], "range_1mib": [], "reconnect": []}
        self.exact = self.errors = 0
        self.first_error = ""

    async def range_0_0(self, api: httpx.AsyncClient) -> bool:
        answer = await api.get(self.url, headers={"Range": "bytes=0-0", "Accept-Encoding": "identity"})
        return answer.status_code == 206 and answer.content == self.log.masked[:1]

    async def range_1mib(self, api: httpx.AsyncClient) -> bool:
        first, last = self.log.middle()
        headers = {"Range": f"bytes={first}-{last}", "Accept-Encoding": "identity"}
        answer = await api.get(self.url, headers=headers)
        return answer.status_code == 206 and answer.content == self.log.masked[first : last + 1]

    async def reconnect(self, api: httpx.AsyncClient) -> bool:
        clock = self.log.reconnect_clock
        async with connect(tail_url(self.base, self.job, clock), max_size=None, open_timeout=60) as socket:
            message = await socket.recv()
        if not isinstance(message, bytes):
            return False
        return CLOCK.unpack_from(message)[0] == clock and message[CLOCK.size :] == self.expected_frame

    async def client(self, index: int, api: httpx.AsyncClient, until: float) -> None:
        kinds: list[tuple[str, Callable[[httpx.AsyncClient], Awaitable[bool]]]] = [
            ("range_0_0", self.range_0_0),
            ("range_1mib", self.range_1mib),
            ("reconnect", self.reconnect),
        ]
        turn = index
        while True:
            name, request = kinds[turn % len(kinds)]
            turn += 1
            started = time.perf_counter()
            try:
                exact = await request(api)
            except (httpx.HTTPError, OSError, ValueError) as error:  # websockets' errors are OSError
                self.errors += 1
                self.first_error = self.first_error or repr(error)
            else:
                self.exact += exact
                self.times[name].append((time.perf_counter() - started) * 1000)
            if time.perf_counter() >= until:
                return

    async def run(self, concurrency: int, seconds: float) -> dict[str, object]:
        self.expected_frame = self.log.frame(self.log.reconnect_clock)
        _ = self.log.masked
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(timeout=300, limits=limits) as api:
            print("ready", file=sys.stderr, flush=True)
            started, cpu = time.perf_counter(), time.process_time()
            until = started + seconds
            await asyncio.gather(*(self.client(i, api, until) for i in range(concurrency)))
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu
        requests = sum(len(t) for t in self.times.values()) + self.errors
        return {
            "requests": requests,
            "exact": self.exact,
            "errors": self.errors,
            "first_error": self.first_error,
            "seconds": wall,
            "cpu_cores": cpu / wall,
            "times_ms": self.times,
        }


def main() -> None:
    base, job, size, secrets, concurrency, seconds = sys.argv[1:7]
    load = Load(base, job, MaskedLog(int(size), int(secrets)))
    print(json.dumps(asyncio.run(load.run(int(concurrency), float(seconds)))))


if __name__ == "__main__":
    main()

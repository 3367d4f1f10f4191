"""One publisher process of a long run (the soak): SLOTS workers, each sending one job after
another, one chunk every 500 ms (the realistic pace), each chunk published with a confirm and
sent again until confirmed, as a real worker must. A job is 20 to 240 chunks long (10 s to 2 min),
its bytes follow from its id (benchmarks.harness.fleet.job_named). At SECONDS every slot ends its current
job at once: the chunk it sends then is its final one.

It says what it did on stdout, one line each: "ready" once connected (then it reads the start
time, unix, from stdin), "start JOB" after a job's first chunk is confirmed, "end JOB CHUNKS" after
its final one, and at exit "done SENT RETRIES".

    python -m benchmarks.soak.churn_publisher TAG INDEX SLOTS SECONDS MIX   (bus settings from env)
"""

from __future__ import annotations

import asyncio
import random
import sys
import time

import uvloop

from benchmarks.harness.fleet import PACE_S, job_named
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings

JOB_CHUNKS = (20, 240)
RETRY_S = (0.1, 2.0)  # backoff between sends of an unconfirmed chunk: from, at most


class Churn:
    def __init__(self, publisher: ChunkPublisher, tag: str, index: int, mix: str) -> None:
        self.publisher = publisher
        self.tag = tag
        self.index = index
        self.mix = mix
        self.jobs = 0
        self.sent = 0
        self.retries = 0
        self.rng = random.Random(f"{tag}-{index}")

    async def send(self, job_id: str, clock: int, data: bytes, final: bool) -> None:
        delay = RETRY_S[0]
        while True:
            try:
                await asyncio.wait_for(self.publisher.publish(job_id, clock, data, final, time.time()), 30)
                self.sent += 1
                return
            except Exception:  # a broker hiccup: the same chunk again, never a gap
                self.retries += 1
                await asyncio.sleep(delay * (0.5 + self.rng.random()))
                delay = min(delay * 2, RETRY_S[1])

    async def slot(self, number: int, slots: int, start_at: float, until: float) -> None:
        due = start_at + PACE_S * number / slots
        while time.time() < until:
            job_id = f"{self.tag}-{self.index}-{self.jobs:06d}"
            self.jobs += 1
            log = job_named(job_id, self.rng.randint(*JOB_CHUNKS), self.mix)
            for clock in range(log.chunks):
                await asyncio.sleep(max(0.0, due - time.time()))
                due += PACE_S
                final = clock == log.chunks - 1 or time.time() >= until
                await self.send(job_id, clock, log.piece(clock), final)
                if clock == 0:
                    print(f"start {job_id}", flush=True)
                if final:
                    print(f"end {job_id} {clock + 1}", flush=True)
                    break


async def main(tag: str, index: int, slots: int, seconds: float, mix: str) -> None:
    publisher = await ChunkPublisher.connect(BusSettings())
    try:
        print("ready", flush=True)
        start_at = float(await asyncio.to_thread(sys.stdin.readline))
        churn = Churn(publisher, tag, index, mix)
        await asyncio.gather(*(churn.slot(n, slots, start_at, start_at + seconds) for n in range(slots)))
        print(f"done {churn.sent} {churn.retries}", flush=True)
    finally:
        await publisher.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    uvloop.run(main(args[0], int(args[1]), int(args[2]), float(args[3]), args[4]))

"""Viewers that come and go during a long run: each of VIEWERS loops opens a live job's tail
(from its start, or from a clock part-way in, as a reloaded tab does), follows it for 5 to 60 s or
to its end, hangs up, and picks another job. Every frame is checked as it arrives: its clock the
next one, its bytes those of the job's log (known from the job id alone)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

from benchmarks.harness.fleet import JobLog, job_named
from benchmarks.harness.viewer import CLOCK, tail_url

STAY_S = (5.0, 60.0)


@dataclass
class ViewerTally:
    sessions: int = 0
    ended: int = 0  # sessions that saw their job's end
    frames: int = 0
    bytes: int = 0
    wrong_bytes: int = 0  # frames whose bytes differ from the job's log
    out_of_order: int = 0  # frames whose clock was not the next one
    failed: int = 0  # sessions that could not connect or dropped before their time
    live_jobs: list[str] = field(default_factory=list)  # started and not yet ended: who may be watched


async def _session(base: str, log: JobLog, from_clock: int, stay_s: float, tally: ViewerTally) -> None:
    tally.sessions += 1
    next_clock = from_clock
    deadline = time.monotonic() + stay_s
    try:
        async with connect(
            tail_url(base, log.job_id, from_clock), max_size=4 * 1024 * 1024, open_timeout=30
        ) as ws:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    message = await asyncio.wait_for(ws.recv(), left)
                except TimeoutError:
                    return  # its time is up: hang up, like a closed tab
                if isinstance(message, bytes):
                    (clock,) = CLOCK.unpack_from(message)
                    data = message[CLOCK.size :]
                    if clock != next_clock:
                        tally.out_of_order += 1
                    elif data != log.piece(clock):
                        tally.wrong_bytes += 1
                    next_clock = clock + 1
                    tally.frames += 1
                    tally.bytes += len(data)
                elif json.loads(message).get("type") == "end":
                    tally.ended += 1
                    return
    except Exception:  # refused, reset: counted; the loop picks another job
        tally.failed += 1


async def viewer_loop(base: str, mix: str, tally: ViewerTally, until: float, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        if not tally.live_jobs:
            await asyncio.sleep(1.0)
            continue
        job_id = rng.choice(tally.live_jobs)
        from_clock = 0 if rng.random() < 0.7 else rng.randint(1, 19)  # a reload, part-way in
        stay = min(rng.uniform(*STAY_S), max(0.0, until - time.monotonic()))
        await _session(base, job_named(job_id, 0, mix), from_clock, stay, tally)
        await asyncio.sleep(rng.uniform(0.1, 1.0))


async def run_viewers(base: str, mix: str, viewers: int, seconds: float, tally: ViewerTally) -> ViewerTally:
    until = time.monotonic() + seconds
    await asyncio.gather(*(viewer_loop(base, mix, tally, until, seed) for seed in range(viewers)))
    return tally

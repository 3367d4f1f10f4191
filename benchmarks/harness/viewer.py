"""A websocket viewer of one job's live tail, for tests and load runs: collects every chunk and
checks the protocol (each clock once, in order) as it goes."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from websockets.asyncio.client import connect

from logstore.tail_frame import CLOCK as CLOCK  # re-exported for the harness's other viewers
from logstore.tail_frame import unframe


@dataclass
class Watched:
    job_id: str
    from_clock: int
    data: bytearray = field(default_factory=bytearray)
    next_clock: int = 0
    ended: bool = False
    end_final_clock: int | None = None
    close_code: int | None = None
    gaps: list[tuple[int, int]] = field(default_factory=list)
    arrivals: list[tuple[int, float]] = field(default_factory=list)  # (clock, unix time received)


def tail_url(base: str, job_id: str, from_clock: int) -> str:
    return (
        f"{base.replace('http://', 'ws://', 1)}/v1/jobs/{quote(job_id, safe='')}/tail?from_clock={from_clock}"
    )


async def watch(
    base: str, job_id: str, from_clock: int = 0, stop_after: int | None = None, timestamps: bool = False
) -> Watched:
    """Follow the tail until the end message (or `stop_after` chunks, then hang up)."""
    seen = Watched(job_id, from_clock, next_clock=from_clock)
    # a handshake may wait long behind a thousand others on a loaded machine (the default is 10 s)
    url = tail_url(base, job_id, from_clock)
    async with connect(url, max_size=16 * 1024 * 1024, open_timeout=60) as socket:
        async for message in socket:
            if isinstance(message, bytes):
                clock, data = unframe(message)
                if clock != seen.next_clock:
                    raise AssertionError(f"{job_id}: got clock {clock}, expected {seen.next_clock}")
                seen.data += data
                seen.next_clock += 1
                if timestamps:
                    seen.arrivals.append((clock, time.time()))
                if stop_after is not None and seen.next_clock - from_clock >= stop_after:
                    break
            else:
                control = json.loads(message)
                if control.get("type") == "gap":
                    if control["from_clock"] != seen.next_clock:
                        raise AssertionError(
                            f"{job_id}: gap from {control['from_clock']}, expected {seen.next_clock}"
                        )
                    seen.gaps.append((control["from_clock"], control["to_clock"]))
                    seen.next_clock = control["to_clock"] + 1
                if control.get("type") == "end":
                    seen.ended = True
                    seen.end_final_clock = control["final_clock"]
        seen.close_code = socket.close_code
    if seen.ended:
        seen.close_code = seen.close_code or 1000
    return seen

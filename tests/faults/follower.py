"""A live viewer that survives its streamer: it follows one job's tail and, whenever the socket
drops before the end, reconnects with `from_clock` = the next clock it needs (what a browser tab
does). It never raises on a protocol breach; it records it, so the fault report can count it."""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

from benchmarks.harness.viewer import CLOCK, tail_url


@dataclass
class Followed:
    job_id: str
    data: bytearray = field(default_factory=bytearray)
    next_clock: int = 0
    ended: bool = False
    reconnects: int = 0
    out_of_order: int = 0  # frames whose clock was past the next one expected (a gap)
    duplicates: int = 0  # frames whose clock had been received already


async def follow(
    base: str, seen: Followed, give_up_after_s: float = 600, backoff_max_s: float | None = None
) -> Followed:
    """Fill `seen` (which the caller may watch while this runs) until the job's end message.
    Between two attempts it waits 0.2-0.5 s; with `backoff_max_s`, as the viewer page and `logstore
    tail` do instead: 0.1 s doubling per failed attempt in a row, at most `backoff_max_s`, times
    0.5-1 (stream/static/viewer.js)."""
    job_id = seen.job_id
    deadline = time.monotonic() + give_up_after_s
    failures = 0
    while not seen.ended and time.monotonic() < deadline:
        received = seen.next_clock
        try:
            url = tail_url(base, job_id, seen.next_clock)
            async with connect(url, max_size=16 * 1024 * 1024, open_timeout=3, ping_timeout=5) as socket:
                async for message in socket:
                    if isinstance(message, bytes):
                        (clock,) = CLOCK.unpack_from(message)
                        if clock != seen.next_clock:
                            if clock < seen.next_clock:
                                seen.duplicates += 1
                            else:
                                seen.out_of_order += 1
                            continue
                        seen.data += message[CLOCK.size :]
                        seen.next_clock += 1
                    elif json.loads(message).get("type") == "end":
                        seen.ended = True
        except Exception:  # any drop (refused, reset, timeout, bad close) means: reconnect
            pass
        if not seen.ended:
            seen.reconnects += 1
            failures = 0 if seen.next_clock > received else failures + 1
            if backoff_max_s is None:
                await asyncio.sleep(0.2 + random.random() * 0.3)
            else:
                await asyncio.sleep(min(backoff_max_s, 0.1 * 2**failures) * random.uniform(0.5, 1.0))
    return seen

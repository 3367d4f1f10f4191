"""Masking off the event loop: the automaton's steps run in one thread of their own.

The Aho-Corasick scan (Rust, stream/masking.py) lets go of the GIL while it scans, so a step run
in a thread leaves the event loop free for everything else (live frames, other requests) and
puts the machine's other core to work. All of a process's masking goes through one thread, in
steps of STEP_BYTES, first come first served: twenty masked reads at once share it and take
their turns, and the loop waits for none of them. A piece of at most INLINE_BYTES (a live frame
of a small chunk) is masked on the loop at once: under 0.2 ms, less than the trip to the thread.

Feeding a log in pieces releases exactly what feeding it whole does, so stepping changes no byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from stream.masking import Masker

STEP_BYTES = 64 * 1024  # raw bytes per step: about 0.6 ms with 100 secrets on this machine
INLINE_BYTES = 16 * 1024

_LANE = ThreadPoolExecutor(1, thread_name_prefix="masking")


async def in_lane(work: Callable[[bytes], None], piece: bytes) -> None:
    """`work(piece)` (masking a piece of the log whole) in the masking thread, or at once for a
    piece of at most INLINE_BYTES. Holds the lane for the whole piece (a chunk, at most 1 MiB:
    about 10 ms): for work that must see every step, like indexing."""
    if len(piece) <= INLINE_BYTES:
        work(piece)
        return
    await asyncio.get_running_loop().run_in_executor(_LANE, work, piece)


async def feed(masker: Masker, data: bytes) -> bytes:
    """`masker.feed(data)`: small pieces at once, bigger ones in steps in the masking thread."""
    if len(data) <= INLINE_BYTES:
        return masker.feed(data)
    loop = asyncio.get_running_loop()
    out = [
        await loop.run_in_executor(_LANE, masker.feed, data[at : at + STEP_BYTES])
        for at in range(0, len(data), STEP_BYTES)
    ]
    return out[0] if len(out) == 1 else b"".join(out)

"""Masking in the masking thread: the same bytes as masking on the spot, and a big piece is never
masked on the event loop's thread (where it would hold every viewer of the process)."""

from __future__ import annotations

import random
import threading

import pytest

from stream.masking import Masker, mask
from stream.masking_lane import INLINE_BYTES, STEP_BYTES, feed


@pytest.mark.parametrize("size", [0, 5, INLINE_BYTES, INLINE_BYTES + 1, STEP_BYTES * 3 + 7])
async def test_feeding_through_the_lane_releases_what_masking_at_once_does(size: int) -> None:
    rng = random.Random(size)
    data = bytes(rng.choice(b"ab\n") for _ in range(size))
    secrets = [b"aab", b"ba", b"b\na" * 4]
    masker = Masker(secrets)
    out = await feed(masker, data[: size // 3]) + await feed(masker, data[size // 3 :]) + masker.flush()
    assert out == mask(data, secrets)


async def test_a_big_piece_is_masked_off_the_loop_thread_and_a_small_one_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[tuple[int, str]] = []
    real_feed = Masker.feed

    def spying(self: Masker, data: bytes) -> bytes:
        threads.append((len(data), threading.current_thread().name))
        return real_feed(self, data)

    monkeypatch.setattr(Masker, "feed", spying)
    loop_thread = threading.current_thread().name
    masker = Masker([b"secret"])
    await feed(masker, b"x" * (STEP_BYTES * 2 + 1))
    await feed(masker, b"y" * 100)
    big = [name for size, name in threads if size > INLINE_BYTES]
    assert len(big) == 2
    assert all(name != loop_thread and name.startswith("masking") for name in big)
    assert [name for size, name in threads if size == 100] == [loop_thread]
    assert max(size for size, _ in threads) <= STEP_BYTES

"""Batches grow with the load: full batches go at once, a partial one only after its linger and
while no batch is being stored. No test here waits on the clock for a negative result: the loop is
stepped, and timers are either zero or never due."""

from __future__ import annotations

import asyncio

from ingest.batcher import Batcher

NEVER = 3600.0  # a linger that does not end during a test


async def steps(count: int = 20) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_a_full_batch_goes_at_once_even_while_another_is_stored() -> None:
    batcher: Batcher[int] = Batcher(3, NEVER)
    batcher.storing(2)
    for item in range(4):
        batcher.put(item)
    assert await asyncio.wait_for(batcher.next_batch(), 5) == [0, 1, 2]


async def test_a_partial_batch_waits_for_the_batch_being_stored() -> None:
    batcher: Batcher[int] = Batcher(100, 0)  # lingered as soon as it arrives
    batcher.storing(1)
    batcher.put(1)
    batcher.put(2)
    taking = asyncio.create_task(batcher.next_batch())
    await steps()
    assert not taking.done()  # it keeps gathering while the store works
    batcher.put(3)
    await steps()
    assert not taking.done()
    batcher.storing(0)
    assert await asyncio.wait_for(taking, 5) == [1, 2, 3]


async def test_a_partial_batch_waits_for_its_linger_when_nothing_is_stored() -> None:
    batcher: Batcher[int] = Batcher(100, NEVER)
    batcher.put(1)
    taking = asyncio.create_task(batcher.next_batch())
    await steps()
    assert not taking.done()
    taking.cancel()
    quick: Batcher[int] = Batcher(100, 0.01)
    quick.put(7)
    assert await asyncio.wait_for(quick.next_batch(), 5) == [7]  # the linger ends by itself


async def test_what_is_left_after_a_full_batch_forms_the_next_ones() -> None:
    batcher: Batcher[int] = Batcher(2, 0)
    batcher.storing(1)
    for item in range(5):
        batcher.put(item)
    assert await asyncio.wait_for(batcher.next_batch(), 5) == [0, 1]
    assert await asyncio.wait_for(batcher.next_batch(), 5) == [2, 3]
    taking = asyncio.create_task(batcher.next_batch())
    await steps()
    assert not taking.done()
    batcher.storing(0)
    assert await asyncio.wait_for(taking, 5) == [4]


async def test_drain_takes_everything_and_the_next_batch_starts_afresh() -> None:
    batcher: Batcher[int] = Batcher(10, NEVER)
    for item in range(3):
        batcher.put(item)
    assert batcher.drain() == [0, 1, 2]
    assert batcher.drain() == []
    batcher.put(9)
    batcher.put(10)
    for item in range(11, 19):
        batcher.put(item)
    assert await asyncio.wait_for(batcher.next_batch(), 5) == list(range(9, 19))


async def test_take_if_takes_the_picked_items_and_the_rest_keep_their_places() -> None:
    batcher: Batcher[int] = Batcher(3, NEVER)
    for item in range(4):
        batcher.put(item)
    assert await asyncio.wait_for(batcher.next_batch(), 5) == [0, 1, 2]
    batcher.put(4)
    batcher.put(5)
    assert batcher.take_if(lambda item: item >= 5) == [5]
    assert batcher.take_if(lambda item: item > 100) == []
    batcher.put(6)
    assert await asyncio.wait_for(batcher.next_batch(), 5) == [3, 4, 6]

"""Reading a job's chunks in clock order, page by page, with the next page always on its way.

A download's first byte waits for one page, so the first page is small; later pages grow towards
PAGE_BYTES of data (their row limit follows the sizes seen so far), so a large log costs few round
trips. While the caller consumes one page the next is already requested: the reader never waits
for Cassandra between two pages unless the caller is faster than the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from logstore.store.cassandra.statements import CLOCKS_PER_BUCKET

FIRST_PAGE_ROWS = 8  # the first byte waits for this page only
PAGE_BYTES = 4 * 1024 * 1024  # later pages aim at this much data (memory per reader: two pages)
MAX_PAGE_ROWS = CLOCKS_PER_BUCKET  # a page never spans buckets

ReadPage = Callable[[int, int, int, int], Awaitable[list[Any]]]  # (bucket, from, upto, limit) -> rows


def next_limit(rows: list[Any], limit: int) -> int:
    """Rows to ask for next: about PAGE_BYTES at the sizes just read, growing at most 8x a page."""
    if not rows:
        return limit
    average = max(1, sum(len(data) for _, data in rows) // len(rows))
    return max(1, min(MAX_PAGE_ROWS, limit * 8, PAGE_BYTES // average))


async def read_pages(
    read_page: ReadPage, buckets: list[int], from_clock: int, upto: int
) -> AsyncIterator[tuple[int, bytes]]:
    """(clock, data) of every stored clock from..upto in the given (ascending) buckets."""
    limit = FIRST_PAGE_ROWS
    position: tuple[int, int] | None = (
        (0, max(from_clock, buckets[0] * CLOCKS_PER_BUCKET)) if buckets else None
    )

    def request(at: tuple[int, int] | None) -> asyncio.Future[list[Any]] | None:
        if at is None:
            return None
        index, clock = at
        return asyncio.ensure_future(read_page(buckets[index], clock, upto, limit))

    pending = request(position)
    try:
        while pending is not None and position is not None:
            rows = await pending
            index, _ = position
            if len(rows) == limit:  # maybe more in this bucket
                position = (index, rows[-1][0] + 1)
            elif index + 1 < len(buckets):
                position = (index + 1, max(from_clock, buckets[index + 1] * CLOCKS_PER_BUCKET))
            else:
                position = None
            limit = next_limit(rows, limit)
            pending = request(position)
            for clock, data in rows:
                yield clock, data
    finally:
        if pending is not None:
            pending.cancel()

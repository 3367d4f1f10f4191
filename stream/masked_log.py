"""Downloads of a job with secrets: the masked log, read through a `Masker` from the start.

Offsets, lengths, ranges and the ETag of such a job refer to the masked log. Its length is only
known after masking it, so a request reads the log twice: once to measure (length and sha256),
once to send. Both reads see the same bytes (chunks never change; a compaction in between serves
the same bytes from the archive). While the log may still grow, the bytes a secret could still
start in are held back (`Log-Next-Offset` stops before them), so what a progressive reader has
seen is always a prefix of the final masked log.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence

from logstore.store import LogStore
from stream.download import LogView, read_bytes
from stream.masking import Masker


def is_final(view: LogView) -> bool:
    """Nothing will ever be appended to this view's bytes: the job is complete, or archived (an
    abandoned log ends at its first hole for good)."""
    return view.complete or view.archive is not None


async def masked_pieces(
    store: LogStore, view: LogView, secrets: Sequence[bytes], ahead: int = 0
) -> AsyncIterator[bytes]:
    """The masked log of the view, piece by piece (`ahead` as in `read_bytes`)."""
    masker = Masker(secrets)
    if view.length:
        async for piece in read_bytes(store, view, 0, view.length - 1, ahead):
            released = masker.feed(piece)
            if released:
                yield released
    if is_final(view):
        rest = masker.flush()
        if rest:
            yield rest


async def measure(store: LogStore, view: LogView, secrets: Sequence[bytes]) -> tuple[int, str]:
    """Length and sha256 (hex) of the masked log of the view."""
    digest = hashlib.sha256()
    length = 0
    async for piece in masked_pieces(store, view, secrets):
        digest.update(piece)
        length += len(piece)
    return length, digest.hexdigest()


async def byte_slice(pieces: AsyncIterator[bytes], first: int, last: int) -> AsyncIterator[bytes]:
    """Bytes first..last (inclusive) of a stream of pieces."""
    offset = 0
    async for piece in pieces:
        end = offset + len(piece)
        if end > first and offset <= last:
            yield piece[max(0, first - offset) : last - offset + 1]
        offset = end
        if offset > last:
            return

"""Downloads of a job with secrets: the masked log, read from the nearest checkpoint of its index.

Offsets, lengths, ranges and the ETag of such a job refer to the masked log. Its length and
sha256 are known only after masking it once: stream/masked_index.py does that once per log and
secret set (and extends it as a running log grows), keeping checkpoints from which any slice is
masked exactly. While the log may still grow, the bytes a secret could still start in are held
back (`Log-Next-Offset` stops before them), so what a progressive reader has seen is always a
prefix of the final masked log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from logstore.store import LogStore
from stream.download import LogView
from stream.masked_index import MaskIndex, index_of, is_final, masked_slice

__all__ = ["MaskIndex", "is_final", "masked_pieces", "measure"]


async def masked_pieces(
    store: LogStore, view: LogView, secrets: Sequence[bytes], first: int = 0, ahead: int = 0
) -> AsyncIterator[bytes]:
    """The masked log of the view from masked offset `first` on, piece by piece (`ahead` as in
    `read_bytes`)."""
    index = await index_of(store, view, secrets)
    async for piece in masked_slice(store, view, index, first, None, ahead):
        yield piece


async def measure(store: LogStore, view: LogView, secrets: Sequence[bytes]) -> tuple[MaskIndex, int, str]:
    """The index, length and sha256 (hex) of the masked log of the view."""
    index = await index_of(store, view, secrets)
    return index, index.length(view), index.sha256(view)

"""Reading a request body of at most `limit` bytes: refused before reading when its
Content-Length says more, and as soon as the bytes read pass the limit (a body sent chunked, or
longer than declared), so a client never makes the server hold more than `limit` + one piece."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from logstore.numbers import decimal


async def read_bounded(request: Request, limit: int, refuse: Callable[[int | None], Exception]) -> bytes:
    """The body; raises `refuse(declared size)` for a Content-Length over `limit`, and
    `refuse(None)` once the bytes read pass it."""
    size = decimal(request.headers.get("content-length") or "", 20)
    if size is not None and size > limit:
        raise refuse(size)
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise refuse(None)
    return bytes(body)

"""Bearer tokens, compared in constant time. An unset token means the endpoint is open."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request
from pydantic import SecretStr


def bearer_guard(token: SecretStr | None, realm: str) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency: 401 without a bearer token, 403 with the wrong one. A coroutine, so
    FastAPI runs it on the loop instead of handing each request to a worker thread and back."""
    expected = token.get_secret_value().encode() if token else None

    async def check(request: Request) -> None:
        if expected is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise HTTPException(
                401, f"{realm} requires a bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        if not hmac.compare_digest(given.strip().encode(), expected):
            raise HTTPException(403, f"the bearer token is not valid for {realm}")

    return check

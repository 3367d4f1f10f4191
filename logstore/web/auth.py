"""Bearer tokens, compared in constant time. An unset token means the endpoint is open."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request
from pydantic import SecretStr


def bearer_refusal(authorization: str, expected: bytes | None, realm: str) -> HTTPException | None:
    """The refusal of an Authorization header (401 without a bearer token, 403 with the wrong
    one), or None when it may go ahead (or no token is set)."""
    if expected is None:
        return None
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return HTTPException(401, f"{realm} requires a bearer token", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.strip().encode(), expected):
        return HTTPException(403, f"the bearer token is not valid for {realm}")
    return None


def expected_token(token: SecretStr | None) -> bytes | None:
    return token.get_secret_value().encode() if token else None


def bearer_guard(token: SecretStr | None, realm: str) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency raising bearer_refusal's answer. A coroutine, so FastAPI runs it on
    the loop instead of handing each request to a worker thread and back."""
    expected = expected_token(token)

    async def check(request: Request) -> None:
        refusal = bearer_refusal(request.headers.get("authorization", ""), expected, realm)
        if refusal is not None:
            raise refusal

    return check

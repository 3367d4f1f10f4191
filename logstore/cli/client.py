"""What the client commands share: an HTTP client with short timeouts and retries with
exponential backoff and jitter for the failures that pass (connection errors, 429, 503)."""

from __future__ import annotations

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

RETRY_STATUSES = {429, 502, 503, 504}
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (RetryableStatus, httpx.TransportError))


def retrying(attempts: int = 8) -> AsyncRetrying:
    return AsyncRetrying(
        retry=retry_if_exception(_retryable),
        wait=wait_random_exponential(multiplier=0.2, max=5.0),
        stop=stop_after_attempt(attempts),
        reraise=True,
    )


def auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def explain(response: httpx.Response) -> str:
    try:
        body = response.json()
        message = body.get("message") or body.get("detail") or response.text
    except ValueError:
        message = response.text
    return f"HTTP {response.status_code}: {message}"

"""Treat every dependency as something that fails: a circuit breaker, and retries with
exponential backoff and jitter (tenacity) for the errors that pass."""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from logstore.errors import StoreUnavailable

T = TypeVar("T")


class BreakerState(enum.IntEnum):
    CLOSED = 0  # calls go through
    HALF_OPEN = 1  # one trial call goes through; its outcome closes or reopens the breaker
    OPEN = 2  # calls fail at once with StoreUnavailable


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; after `reset_after_s` lets one trial through.

    While open, callers fail fast instead of piling requests on a dependency that is down.
    `on_change` is called with each new state (for metrics and logs).
    """

    def __init__(
        self,
        name: str,
        threshold: int = 5,
        reset_after_s: float = 2.0,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.reset_after_s = reset_after_s
        self._on_change = on_change
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    def _set(self, state: BreakerState) -> None:
        if state is not self.state:
            self.state = state
            if self._on_change:
                self._on_change(state)

    def seconds_until_trial(self) -> float:
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.reset_after_s - time.monotonic())

    def _admit(self) -> None:
        if self.state is BreakerState.OPEN:
            if self.seconds_until_trial() > 0:
                raise StoreUnavailable(f"{self.name}: circuit open, not calling")
            self._set(BreakerState.HALF_OPEN)
        if self.state is BreakerState.HALF_OPEN:
            if self._trial_running:
                raise StoreUnavailable(f"{self.name}: circuit half-open, trial in progress")
            self._trial_running = True

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        self._admit()
        trial = self.state is BreakerState.HALF_OPEN
        try:
            result = await fn()
        except StoreUnavailable:
            self._failures += 1
            if trial or self._failures >= self.threshold:
                self._opened_at = time.monotonic()
                self._set(BreakerState.OPEN)
            raise
        finally:
            if trial:
                self._trial_running = False
        self._failures = 0
        self._set(BreakerState.CLOSED)
        return result


def store_retrying(attempts: int = 4, max_wait_s: float = 2.0) -> AsyncRetrying:
    """Retry StoreUnavailable with exponential backoff and full jitter; re-raise at the end."""
    return AsyncRetrying(
        retry=retry_if_exception_type(StoreUnavailable),
        wait=wait_random_exponential(multiplier=0.05, max=max_wait_s),
        stop=stop_after_attempt(attempts),
        reraise=True,
    )

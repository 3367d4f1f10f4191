"""Clocks for tests of idleness and age: never count on the machine being fast or slow."""

from __future__ import annotations

import math
import time

AN_HOUR = 3600.0


def an_hour_later() -> float:
    """The unix time an hour from now: every job written before the call has been idle for an
    hour, longer than any `abandon_after_s` the tests use (the default is 600 s)."""
    return time.time() + AN_HOUR


def a_week_later() -> float:
    """The unix time a week from now: past `abandon_running_after_s` (6 days by default), the
    limit for a job that has not sent its final chunk."""
    return time.time() + 7 * 24 * AN_HOUR


def a_fresh_millisecond() -> float:
    """A moment after every job stored so far was created and before every job stored from now
    on, even where creation times are kept to the millisecond (Cassandra): wait for the clock to
    pass the next whole millisecond and one more, and return the middle of the first."""
    boundary = (math.floor(time.time() * 1000) + 1) / 1000
    while time.time() < boundary + 0.001:
        time.sleep(0.0005)  # two milliseconds at most
    return boundary + 0.0005


class FakeClock:
    """A clock that moves only when the test moves it (`clock.now += 0.5`)."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

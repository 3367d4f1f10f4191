"""The oldest chunk an ingester holds but has not stored: the ingest lag an operator watches.

A quorum queue is consumed from its head, and an ingester's prefetch holds the head's messages;
so while chunks wait, the oldest one in hand is about as old as the oldest one not stored at all
(RabbitMQ does not report the age of a quorum queue's head). The age counts from the sender's
`sent_at` header and is read at scrape time, so it keeps growing while a write hangs. Messages
leave the table once they are acknowledged, dead-lettered or handed back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol


class Held(Protocol):
    @property
    def sent_at(self) -> float | None:
        """The sender's timestamp; None when unknown (or the headers are malformed)."""


class Unstored:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._sent: dict[int, float] = {}  # id(message) -> sent_at

    def add(self, message: Held) -> None:
        if message.sent_at is not None:
            self._sent[id(message)] = message.sent_at

    def discard(self, messages: Iterable[Any]) -> None:
        for message in messages:
            self._sent.pop(id(message), None)

    def oldest_age(self) -> float:
        """Seconds since the oldest held chunk was sent; 0 when none is held."""
        if not self._sent:
            return 0.0
        return max(0.0, self._clock() - min(self._sent.values()))

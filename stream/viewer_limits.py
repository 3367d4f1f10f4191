"""Limits on websocket viewers: per process and per client address."""

from __future__ import annotations

from collections import Counter

from logstore.config import StreamSettings
from stream import metrics


class ViewerLimits:
    def __init__(self, settings: StreamSettings) -> None:
        self.settings = settings
        self.total = 0
        self._per_client: Counter[str] = Counter()

    def admit(self, client: str) -> bool:
        if self.total >= self.settings.max_viewers:
            return False
        if self._per_client[client] >= self.settings.max_viewers_per_client:
            return False
        self.total += 1
        self._per_client[client] += 1
        metrics.VIEWERS.set(self.total)
        return True

    def release(self, client: str) -> None:
        self.total -= 1
        self._per_client[client] -= 1
        if self._per_client[client] <= 0:
            del self._per_client[client]
        metrics.VIEWERS.set(self.total)

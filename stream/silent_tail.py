"""The tail an anonymous viewer of a private job gets: the tail of a job that has not started.

A viewer may connect before its job's first chunk (stream/tail.py waits for it), so "unknown" on
the websocket is an open socket that says nothing. A private job read without credentials must
look unknown (stream/access.py), so it gets exactly that: the socket stays open, nothing is sent,
and the store is read as a tail of an unknown job reads it (the job's row, again after 1, 2, 4, 8,
then every 10 s of quiet), in the live hub like any viewer, with the same metrics. Nothing it
reads or hears is ever sent. It ends only when the viewer leaves or the server stops.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from logstore.errors import JobNotFound
from logstore.store import LogStore
from stream import metrics
from stream.fanout import LiveHub
from stream.tail import IDLE_CHECK_S, TailEvent


class SilentTail:
    def __init__(self, store: LogStore, hub: LiveHub, job_id: str) -> None:
        self.store = store
        self.hub = hub
        self.job_id = job_id

    async def events(self) -> AsyncIterator[TailEvent]:
        viewer = await self.hub.join(self.job_id)
        try:
            idle_s = IDLE_CHECK_S[0]
            while True:
                metrics.STORE_CATCHUPS.inc()
                with contextlib.suppress(JobNotFound):
                    await self.store.job_status(self.job_id)
                while await viewer.next(idle_s) is not None or viewer.take_lag():
                    pass  # the job's live chunks: heard, never sent
                idle_s = min(idle_s * 2, IDLE_CHECK_S[1])
        finally:
            await self.hub.leave(viewer)
        yield  # pragma: no cover - never reached: an async generator that yields nothing

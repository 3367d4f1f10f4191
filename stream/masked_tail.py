"""The live tail of a job with secrets: the same frames, carrying the masked log.

A chunk's frame carries the masked bytes released so far (8-byte clock + bytes, as always), so
the concatenation of the frames is the masked log: bytes a secret may still start in are held
back (at most longest secret - 1) and go out with the next frame; the final chunk's frame flushes
everything. At a hole of an abandoned job the held bytes are flushed into a frame numbered with
the first missing clock, sent just before the gap message. Resuming with from_clock = K rebuilds
the masker by replaying clocks below K from the store without sending them, so the continuation
is exactly the one an unbroken connection would have received.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from logstore.errors import JobNotFound
from logstore.store import LogStore
from logstore.store.archive import chunks_of
from logstore.store.archive_read import dictionary_of
from stream.masking import Masker
from stream.tail import SWITCHES, ChunkEvent, GapEvent, Tail, TailEvent


class MaskedTail:
    def __init__(self, tail: Tail, secrets: Sequence[bytes]) -> None:
        self.tail = tail
        self.job_id = tail.job_id
        self._masker = Masker(secrets)

    async def events(self) -> AsyncIterator[TailEvent]:
        await self._replay(self.tail.next_clock)
        async for event in self.tail.events():
            if isinstance(event, ChunkEvent):
                released = self._masker.feed(event.data)
                if event.clock == self.tail.final_clock:
                    released += self._masker.flush()
                yield ChunkEvent(event.clock, released, event.stored_at)
            elif isinstance(event, GapEvent):
                held = self._masker.flush()
                if held:
                    yield ChunkEvent(event.from_clock, held)
                yield event
            else:
                # Normally nothing is held here: the final frame flushed it. Only when the store
                # showed the final chunk before saying it was final (Cassandra writes the job row
                # last) does a rest remain: it goes out in a trailer frame numbered final_clock + 1.
                held = self._masker.flush()
                if held:
                    yield ChunkEvent(event.final_clock + 1, held)
                yield event

    async def _replay(self, to_clock: int) -> None:
        """Feed clocks below `to_clock` to the masker, output discarded; a hole flushes it, as
        the gap of a live tail does."""
        if to_clock <= 0:
            return
        final_clock = None
        with contextlib.suppress(JobNotFound):
            final_clock = (await self.tail.store.job_status(self.job_id)).final_clock
        expected = 0
        async for clock, data in raw_chunks_below(self.tail.store, self.job_id, to_clock):
            if clock != expected:
                self._masker.flush()
            self._masker.feed(data)
            expected = clock + 1
        if expected < to_clock or (final_clock is not None and expected > final_clock):
            self._masker.flush()  # a hole, or the final frame, flushed it


async def raw_chunks_below(store: LogStore, job_id: str, to_clock: int) -> AsyncIterator[tuple[int, bytes]]:
    """Stored (clock, bytes) with clock < to_clock, ascending: from the chunks, or from the archive
    once the job is compacted (also when that happens during this read), or from the chunks again
    when the job is reopened during it."""
    expected = 0
    for _ in range(SWITCHES):
        if expected >= to_clock:
            return
        try:
            status = await store.job_status(job_id)
        except JobNotFound:
            return
        if not status.state.archived:
            async for clock, data in store.read_chunks(job_id, expected, to_clock - 1):
                yield clock, data
                expected = clock + 1
            if expected >= to_clock:
                return
            with contextlib.suppress(JobNotFound):
                status = await store.job_status(job_id)
            if not status.state.archived:
                return
        archive = await store.archive_info(job_id)
        if archive is None:
            continue  # reopened meanwhile: back to the chunks
        dictionary = await dictionary_of(store, archive)
        segments = 0
        async for segment in store.read_segments(job_id):
            segments += 1
            if segment.ref.first_clock >= to_clock:
                return
            for clock, data in chunks_of(segment, dictionary):
                if expected <= clock < to_clock:
                    yield clock, data
                    expected = clock + 1
        if segments >= archive.segments:
            return
        # fewer segments than the archive has: it was removed (reopened) while being read

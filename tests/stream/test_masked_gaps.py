"""A masked tail of an abandoned job, on SQLite and Cassandra: a secret cannot span a hole; the
bytes held back before the hole go out in a frame numbered with the first missing clock, just
before the gap message; a tail resumed anywhere continues exactly like the unbroken one."""

from __future__ import annotations

from collections.abc import AsyncIterator

from compactor.archive_job import ArchiveJob, Outcome
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings
from logstore.store import LogStore
from stream.fanout import LiveHub
from stream.masked_tail import MaskedTail
from stream.tail import ChunkEvent, EndEvent, GapEvent, Tail, TailEvent
from tests.clocks import an_hour_later

SECRETS = [b"TOKEN-42"]
PIECES = {0: b"a TOKEN-", 1: b"42 b TOK", 4: b"EN-42 c TOKEN-4", 5: b"2\n"}  # clocks 2 and 3 never came


async def events_from(store: LogStore, job_id: str, from_clock: int) -> list[TailEvent]:
    tail = MaskedTail(Tail(store, LiveHub(MemoryBus()), job_id, from_clock), SECRETS)
    return [event async for event in tail.events()]


async def test_a_hole_flushes_what_was_held_and_resumes_exactly(any_store: LogStore, job_id: str) -> None:
    await any_store.put_chunks([Chunk.create(job_id, c, p, final=c == 5) for c, p in PIECES.items()])
    later = ArchiveJob(any_store, CompactSettings(grace_s=0.1), "me", clock=an_hour_later)  # abandoned
    assert await later.run(job_id) is Outcome.COMPACTED
    events = await events_from(any_store, job_id, 0)
    assert events == [
        ChunkEvent(0, b"a"),  # up to 7 bytes (longest secret - 1) held back
        ChunkEvent(1, b" ***"),
        ChunkEvent(2, b" b TOK"),  # held before the hole: "TOK" + "EN-42" is no secret across it
        GapEvent(2, 3),
        ChunkEvent(4, b"EN-42 c "),
        ChunkEvent(5, b"***\n"),  # the final frame flushes everything
        EndEvent(5),
    ]
    for resume in range(1, 7):
        expected = [e for e in events if not isinstance(e, ChunkEvent) or e.clock >= resume]
        if resume == 3:  # resumed inside the hole: the rest of it is announced
            expected = [
                GapEvent(3, 3),
                *[e for e in events if isinstance(e, ChunkEvent) and e.clock > 3],
                events[-1],
            ]
        elif resume > 2:
            expected = [e for e in expected if not isinstance(e, GapEvent)]
        assert await events_from(any_store, job_id, resume) == expected, resume


class FinalLearnedLate(Tail):
    """A tail whose store showed the final chunk before its job row said final (a Cassandra race
    the Tail narrows but cannot close): the final frame goes out before final_clock is known."""

    async def events(self) -> AsyncIterator[TailEvent]:
        yield ChunkEvent(0, b"x TOKEN-4")
        yield ChunkEvent(1, b"2 y TOK")
        self.final_clock = 1
        yield EndEvent(1)


async def test_bytes_held_when_the_final_clock_is_learned_late_go_out_in_a_trailer_frame(
    sqlite_store: LogStore,
) -> None:
    tail = MaskedTail(FinalLearnedLate(sqlite_store, LiveHub(MemoryBus()), "late", 0), SECRETS)
    events = [event async for event in tail.events()]
    assert events == [ChunkEvent(0, b"x "), ChunkEvent(1, b"***"), ChunkEvent(2, b" y TOK"), EndEvent(1)]

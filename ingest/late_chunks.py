"""Late chunks of archived jobs: the job reopens and the chunk is stored, never refused because the
compactor guessed the job was over.

Two cases reach here, both as JobArchived from the store:
- the job was archived as abandoned (quiet for longer than the compactor's limit, or finished with
  holes that stayed open): this chunk may be what was still coming;
- the chunk was stored while the job was being archived (`stored`): the archive may lack it.

Either way the job is reopened (logstore/store/reopen.py: its archived chunks go back to the chunk
store, its state is derived from them again) and the chunk is stored again, which is then CREATED
or, for a chunk that was already stored, a DUPLICATE that this request created. A job archived
complete (compacted with its final chunk and every clock) takes no more chunks: a chunk for it is
a copy (DUPLICATE, ingest/resend.py) or a real conflict (409).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence

from ingest import metrics
from logstore.bus import Bus
from logstore.chunk import Chunk
from logstore.errors import InvalidInput, JobArchived, JobBusy
from logstore.store import LogStore, PutResult
from logstore.store.archive import archived_ranges, holds
from logstore.store.reopen import reopen

log = logging.getLogger("logstore.ingest")

BUSY_WAITS = 6  # tries while another process holds the job's lease (an archive takes seconds)
BUSY_WAIT_S = 0.2  # the first wait; doubles per try, with full jitter
ROUNDS = 3  # reopen and store again at most this often for one batch

Outcome = PutResult | InvalidInput
Store = Callable[[Sequence[Chunk]], Awaitable[list[Outcome]]]


def reopens(outcome: Outcome) -> bool:
    return isinstance(outcome, JobArchived) and (outcome.abandoned or outcome.stored)


async def store_late_chunks(
    store: LogStore, bus: Bus, put: Store, chunks: Sequence[Chunk], outcomes: list[Outcome]
) -> None:
    """Replace, in place, the outcome of every chunk that a reopen makes storable."""
    for _ in range(ROUNDS):
        late = [i for i, outcome in enumerate(outcomes) if reopens(outcome)]
        late = [i for i in late if stored_meanwhile(outcomes[i]) or await _fits(store, chunks[i])]
        if not late:
            return
        for job_id in dict.fromkeys(chunks[i].job_id for i in late):
            await _reopen(store, bus, job_id)
        again = await put([chunks[i] for i in late])
        for index, outcome in zip(late, again, strict=True):
            created = stored_meanwhile(outcomes[index]) and outcome is PutResult.DUPLICATE
            outcomes[index] = PutResult.CREATED if created else outcome
    if any(stored_meanwhile(outcome) for outcome in outcomes):
        raise JobBusy("jobs keep being archived while their chunks are stored; retry shortly")


def stored_meanwhile(outcome: Outcome) -> bool:
    """Stored while its job was being archived: acknowledged only once the job is settled (a
    copy check against the chunks would acknowledge it while the archive may still lack it)."""
    return isinstance(outcome, JobArchived) and outcome.stored


async def _fits(store: LogStore, chunk: Chunk) -> bool:
    """Whether the reopened job would take the chunk: its clock is not in the archive (a copy is a
    DUPLICATE before this, other bytes a conflict) nor after a known final clock. Reopening costs
    a read and a write of the whole log, so a chunk that would be refused anyway never causes one."""
    archive = await store.archive_info(chunk.job_id)
    if archive is None:
        return True  # reopened meanwhile
    if not archive.abandoned and (chunk.clock > archive.final_clock or chunk.final):
        return False  # it ended at final_clock: nothing after it, and no second end
    if chunk.final and archive.abandoned and chunk.clock == archive.final_clock:
        return True  # the last chunk it sent, sent again as its end: the job ends there
    return not holds(archived_ranges(await store.segment_refs(chunk.job_id)), chunk.clock)


async def _reopen(store: LogStore, bus: Bus, job_id: str) -> None:
    for attempt in range(BUSY_WAITS):
        try:
            if await reopen(store, job_id):
                metrics.JOBS_REOPENED.inc()
                if (await store.job_status(job_id)).final_clock is not None:
                    await bus.request_compaction(job_id)  # finished: archive it again, with the chunk
            return
        except JobBusy:
            if attempt == BUSY_WAITS - 1:
                raise
            await asyncio.sleep(random.uniform(0, BUSY_WAIT_S * 2**attempt))

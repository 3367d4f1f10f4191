"""A model-based test of logstore's first promise: every chunk it acknowledged is in the log that
any later read returns, unless the job was deleted on purpose. Run on SQLite and on the real
Cassandra.

Hypothesis drives two jobs through any interleaving of: chunks in any order, copies and
conflicting bytes, final chunks, silences longer than either idle limit (an injected clock, never
a sleep), sweeps, compactions (whole, killed before any of its store calls, or with a chunk of the job
arriving before any of them), deletes and reads. After every step every job is read back: each
acknowledged chunk must be there with its bytes, and downloads must agree with the chunks.

The model also knows which chunks the contract says to refuse (after the final clock, a second
end, an end below a stored clock, other bytes for a stored clock): a chunk refused for any other
reason (for example because the compactor guessed the job was over) fails the test, and so does
a refused chunk that was stored.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

import ingest.late_chunks
from compactor.archive_job import ArchiveJob, VerificationFailed
from compactor.retention import delete_job
from compactor.sweep import Sweeper
from ingest.service import IngestService
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings, LimitsSettings
from logstore.errors import ChunkConflict, InvalidInput, JobNotFound, LogstoreError, StoreUnavailable
from logstore.store import LogStore, PutResult
from logstore.store.archive import chunks_of
from logstore.store.cassandra.backend import CassandraStore
from logstore.store.cassandra.schema import apply_schema
from logstore.store.cassandra.url import parse_cassandra_url
from logstore.store.sqlite import SQLiteStore
from stream.download import open_view, read_bytes
from tests.servers import require_cassandra

JOBS = 2
CLOCKS = 6
QUIET = [700.0, 3600.0, 7 * 86400.0]  # over abandon_after_s (600 s); under and over the 6-day limit
SETTINGS = CompactSettings(grace_s=0, segment_bytes=1024, lease_s=60)
CALLS = st.integers(1, 24)  # a compaction of these jobs makes about 20 store calls


def piece(job: int, clock: int, variant: int) -> bytes:
    """About 400 bytes: two or three chunks to a 1 KiB segment."""
    return f"job {job} clock {clock} variant {variant} ".encode() * 12 + b"\n"


class Killed(Exception):
    """The compactor process died here."""


class CompactorsStore:
    """The store as one compactor process sees it: it dies before its n-th store call, or a
    worker's chunk arrives right before that call; and its sweep lists only this test's jobs."""

    def __init__(self, store: LogStore, prefix: str) -> None:
        self._store = store
        self._prefix = prefix
        self.kill_at: int | None = None
        self.chunk_at: int | None = None
        self.chunk: Callable[[], Awaitable[Any]] | None = None
        self._calls = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if not callable(target) or name.startswith("_"):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls += 1
            if inspect.isasyncgenfunction(target):
                return self._generator(self._calls, target, args, kwargs)
            return self._coroutine(self._calls, target, args, kwargs)

        return call

    async def _before(self, n: int) -> None:
        if self.kill_at == n:
            raise Killed(f"before store call {n}")
        if self.chunk_at == n and self.chunk is not None:
            chunk, self.chunk = self.chunk, None
            await chunk()

    async def _coroutine(self, n: int, target: Any, args: Any, kwargs: Any) -> Any:
        await self._before(n)
        return await target(*args, **kwargs)

    async def _generator(self, n: int, target: Any, args: Any, kwargs: Any) -> AsyncIterator[Any]:
        await self._before(n)
        async for item in target(*args, **kwargs):
            yield item

    async def unarchived_jobs(self, after: str | None, limit: int) -> list[str]:
        found: list[str] = []
        while len(found) < limit:
            page = await self._store.unarchived_jobs(after, 1000)
            found += [job for job in page if job.startswith(self._prefix)]
            if len(page) < 1000:
                break
            after = page[-1]
        return found[:limit]


class NoChunkLost(RuleBasedStateMachine):
    store: LogStore
    loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        super().__init__()
        self.prefix = f"model-{uuid.uuid4().hex[:10]}-"
        self.jobs = [f"{self.prefix}{n}" for n in range(JOBS)]
        self.bus = MemoryBus()
        self.service = IngestService(self.store, self.bus, LimitsSettings())
        self.offset = 0.0  # how far the compactors' clock is ahead of the store's
        self.owners = itertools.count()
        self.acked: list[dict[int, bytes]] = [{} for _ in range(JOBS)]
        self.final: list[int | None] = [None] * JOBS
        self.unsure: list[set[tuple[int, bytes]]] = [set() for _ in range(JOBS)]  # sent, no answer
        self.unsure_final: list[int | None] = [None] * JOBS

    def run(self, work: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(work, 60))

    def clock(self) -> float:
        return time.time() + self.offset

    # -- what the contract says ---------------------------------------------------------------

    def refusal(self, job: int, clock: int, data: bytes, final: bool) -> str | None:
        """What the contract refuses this chunk for, counting only acknowledged chunks; "maybe"
        when chunks sent without an answer (they may be stored) could change that."""
        sure = refusal_by(self.acked[job], set(), self.final[job], None, clock, data, final)
        maybe = refusal_by(
            self.acked[job], self.unsure[job], self.final[job], self.unsure_final[job], clock, data, final
        )
        return sure if sure == maybe else "maybe"

    async def send(self, job: int, clock: int, variant: int, final: bool) -> None:
        data = piece(job, clock, variant)
        expected = self.refusal(job, clock, data, final)
        try:
            result = await self.service.ingest(Chunk.create(self.jobs[job], clock, data, final))
        except StoreUnavailable as exc:
            event(f"chunk: {type(exc).__name__}")
            self.unsure[job].add((clock, data))  # not acknowledged, but it may be stored
            if final:
                self.unsure_final[job] = clock
            return
        except InvalidInput as exc:
            refused: InvalidInput | None = exc
        else:
            refused = None
        event(f"chunk: {type(refused).__name__ if refused else result.value}")
        if refused is not None:
            assert isinstance(refused, ChunkConflict), refused
            assert expected is not None, f"job {job} clock {clock} refused: {refused}"
            return
        assert result in (PutResult.CREATED, PutResult.DUPLICATE)
        assert expected in (None, "maybe"), f"job {job} clock {clock} stored though it is {expected}"
        self.acked[job][clock] = data
        if final:
            self.final[job] = clock

    # -- rules ----------------------------------------------------------------------------------

    @initialize()
    def quick_retries(self) -> None:
        ingest.late_chunks.BUSY_WAIT_S = 0.001  # a busy job is retried at once: no test waits

    @rule(
        job=st.integers(0, JOBS - 1),
        clock=st.integers(0, CLOCKS - 1),
        variant=st.sampled_from([0, 0, 0, 1]),
        final=st.booleans(),
    )
    def send_chunk(self, job: int, clock: int, variant: int, final: bool) -> None:
        self.run(self.send(job, clock, variant, final))

    @rule(seconds=st.sampled_from(QUIET))
    def stay_quiet(self, seconds: float) -> None:
        self.offset += seconds

    @rule(job=st.integers(0, JOBS - 1))
    def compact(self, job: int) -> None:
        self.run(attempt(self.compactor(), self.jobs[job]))

    @rule(job=st.integers(0, JOBS - 1), dies_at=CALLS)
    def compact_and_die(self, job: int, dies_at: int) -> None:
        store = CompactorsStore(self.store, self.prefix)
        store.kill_at = dies_at
        self.run(attempt(self.compactor(store), self.jobs[job]))

    @rule(
        job=st.integers(0, JOBS - 1),
        arrives_at=CALLS,
        clock=st.integers(0, CLOCKS - 1),
        final=st.booleans(),
        dies_at=st.none() | CALLS,
    )
    def compact_while_a_chunk_arrives(
        self, job: int, arrives_at: int, clock: int, final: bool, dies_at: int | None
    ) -> None:
        store = CompactorsStore(self.store, self.prefix)
        store.chunk_at, store.chunk = arrives_at, lambda: self.send(job, clock, 0, final)
        store.kill_at = dies_at
        self.run(attempt(self.compactor(store), self.jobs[job]))

    @rule()
    def sweep(self) -> None:
        async def sweep_and_compact() -> None:
            store = CompactorsStore(self.store, self.prefix)
            await Sweeper(store, self.bus, SETTINGS, clock=self.clock).sweep()  # type: ignore[arg-type]
            while not self.bus.requests.empty():
                await attempt(self.compactor(), self.bus.requests.get_nowait())

        self.run(sweep_and_compact())

    @rule(job=st.integers(0, JOBS - 1))
    def delete(self, job: int) -> None:
        try:
            self.run(delete_job(self.store, self.jobs[job]))
        except (ChunkConflict, StoreUnavailable, JobNotFound):
            return  # running, busy, or nothing there: nothing changed
        self.acked[job], self.final[job] = {}, None  # deleted on purpose
        self.unsure[job], self.unsure_final[job] = set(), None

    def compactor(self, store: LogStore | CompactorsStore | None = None) -> ArchiveJob:
        return ArchiveJob(
            store or self.store,  # type: ignore[arg-type]
            SETTINGS,
            f"compactor-{next(self.owners)}",
            clock=self.clock,
        )

    def teardown(self) -> None:
        for job_id in self.jobs:  # leaves nothing for the next example's sweeps to page through
            self.run(self.store.delete_job(job_id))

    # -- the invariant --------------------------------------------------------------------------

    @invariant()
    def every_acknowledged_chunk_reads_back(self) -> None:
        for job in range(JOBS):
            stored = self.run(readable(self.store, self.jobs[job]))
            for clock, data in self.acked[job].items():
                assert stored.get(clock) == data, f"job {job}: acknowledged clock {clock} lost"
            prefix = b""
            for clock in itertools.count():
                if clock not in stored:
                    break
                prefix += stored[clock]
            assert self.run(download(self.store, self.jobs[job])) == prefix


def refusal_by(
    acked: dict[int, bytes],
    unsure: set[tuple[int, bytes]],
    final_clock: int | None,
    unsure_final: int | None,
    clock: int,
    data: bytes,
    final: bool,
) -> str | None:
    """The contract's reason to refuse a chunk, if the `unsure` chunks (and end) are stored too."""
    stored = {c: {d} for c, d in acked.items()}
    for c, d in unsure:
        stored.setdefault(c, set()).add(d)
    ends = {f for f in (final_clock, unsure_final) if f is not None}
    if any(other != data for other in stored.get(clock, ())):
        return "other bytes for a stored clock"
    if any(clock > end for end in ends):
        return "after the final clock"
    if final and any(clock != end for end in ends):
        return "a second end"
    if final and stored and max(stored) > clock:
        return "an end below a stored clock"
    return None


async def attempt(compactor: ArchiveJob, job_id: str) -> None:
    """One compaction attempt as the compaction worker makes it: a failure is retried later."""
    try:
        event(f"compaction: {(await compactor.run(job_id)).value}")
    except (Killed, VerificationFailed, LogstoreError) as exc:  # a killed one's lease runs out
        event(f"compaction: {type(exc).__name__}")


async def readable(store: LogStore, job_id: str) -> dict[int, bytes]:
    """Every clock a reader can get: from the chunks, or from the archive of an archived job."""
    try:
        status = await store.job_status(job_id)
    except JobNotFound:
        return {}
    if not status.state.archived:
        return {clock: data async for clock, data in store.read_chunks(job_id)}
    found: dict[int, bytes] = {}
    async for segment in store.read_segments(job_id):
        found.update(chunks_of(segment))
    return found


async def download(store: LogStore, job_id: str) -> bytes:
    try:
        view = await open_view(store, job_id)
    except JobNotFound:
        return b""
    return b"".join([piece async for piece in read_bytes(store, view, 0, view.length - 1)])


EXAMPLES = {"sqlite": 300, "cassandra": 100}  # a Cassandra step costs a few round trips more


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, LogStore, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    store: LogStore
    if request.param == "sqlite":
        store = SQLiteStore(tmp_path / "model.db")
    else:
        # a keyspace of its own: the sweep pages through every unarchived job of the keyspace
        url = require_cassandra().replace("/logstore_test?", "/logstore_test_model?")
        loop.run_until_complete(apply_schema(parse_cassandra_url(url)))
        store = loop.run_until_complete(CassandraStore.connect(url))
    try:
        yield request.param, store, loop
    finally:
        loop.run_until_complete(store.close())
        loop.close()


@pytest.mark.timeout(900)  # shrinking a failure on Cassandra takes minutes
def test_no_acknowledged_chunk_is_lost(backend: tuple[str, LogStore, asyncio.AbstractEventLoop]) -> None:
    name, NoChunkLost.store, NoChunkLost.loop = backend
    run_state_machine_as_test(
        NoChunkLost,
        settings=settings(
            max_examples=EXAMPLES[name],
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )

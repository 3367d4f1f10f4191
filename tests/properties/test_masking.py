"""Property tests (hypothesis) of secret masking: random secrets (overlapping, prefixes of one
another), random logs, random chunking and random arrival order. Every read path gives exactly
`mask(whole log)`: the streaming masker, downloads, ranges, offsets, the tail from the start and
resumed at any clock, live or from the store, before and after compaction."""

from __future__ import annotations

import asyncio
import json
import random
import re
import tempfile
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stream.tail
from compactor.archive_job import ArchiveJob, Outcome
from logstore.bus import Announcement
from logstore.bus.memory import MemoryBus
from logstore.chunk import Chunk
from logstore.config import CompactSettings, Settings
from logstore.roles import build_app
from logstore.store import LogStore
from logstore.store.sqlite import SQLiteStore
from stream.access import Verdict
from stream.fanout import LiveHub
from stream.guarded_tail import GuardedTail
from stream.masked_tail import MaskedTail
from stream.masking import Masker, mask
from stream.protection_watch import ProtectionWatch
from stream.tail import ChunkEvent, EndEvent, Tail

SECRETS = st.lists(st.binary(min_size=1, max_size=6).map(lambda b: bytes(97 + x % 3 for x in b)), max_size=4)


@st.composite
def logs_with_secrets(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """A log over a tiny alphabet with the secrets dropped in, so they occur, overlap and touch."""
    secrets = draw(SECRETS)
    parts = draw(st.lists(st.one_of(st.binary(max_size=5), st.sampled_from(secrets or [b""])), max_size=30))
    log = b"".join(bytes(97 + x % 4 for x in p) if p not in secrets else p for p in parts)
    return log, secrets


def cuts(log: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    pieces: list[bytes] = []
    at = 0
    while at < len(log) or not pieces:
        size = rng.choice([0, 1, 2, 3, 7, 20])
        pieces.append(log[at : at + size])
        at += size
    return pieces


def naive_mask(log: bytes, secrets: list[bytes]) -> bytes:
    """The definition, written the slow way: leftmost, longest secret first."""
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
    out, at = bytearray(), 0
    while at < len(log):
        hit = next((s for s in ordered if log.startswith(s, at)), None)
        out += b"***" if hit else log[at : at + 1]
        at += len(hit) if hit else 1
    return bytes(out)


@given(case=logs_with_secrets(), seed=st.integers(0, 2**32))
def test_streaming_masker_equals_the_definition(case: tuple[bytes, list[bytes]], seed: int) -> None:
    log, secrets = case
    reference = naive_mask(log, secrets)
    assert mask(log, secrets) == reference
    masker = Masker(secrets)
    released = b""
    for piece in cuts(log, seed):
        released += masker.feed(piece)
        assert reference.startswith(released)  # released bytes never change later
        assert masker.held <= max((len(s) for s in secrets), default=1) - 1
    assert released + masker.flush() == reference


def test_overlapping_and_prefix_secrets_take_the_longest_leftmost() -> None:
    assert mask(b"xabcdx", [b"bcd", b"abc"]) == b"x***dx"  # leftmost wins over longer-later
    assert mask(b"tokenABC token", [b"token", b"tokenABC"]) == b"*** ***"  # longest at a position
    assert mask(b"aaaa", [b"aa"]) == b"******"
    assert mask(b"no secrets here", []) == b"no secrets here"


@pytest.fixture(autouse=True)
def quick_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream.tail, "GAP_WAIT_S", 0.01)
    monkeypatch.setattr(stream.tail, "IDLE_CHECK_S", (0.01, 0.05))


async def tail_frames(
    store: LogStore, secrets: list[bytes], from_clock: int, bus: MemoryBus
) -> list[ChunkEvent]:
    events = [e async for e in MaskedTail(Tail(store, LiveHub(bus), "job", from_clock), secrets).events()]
    assert isinstance(events[-1], EndEvent)
    frames = [e for e in events if isinstance(e, ChunkEvent)]
    assert [f.clock for f in frames] == list(range(from_clock, from_clock + len(frames)))
    return frames


async def http_reads(store: LogStore, reference: bytes, first: int, last: int, masked: bool) -> None:
    app = build_app(Settings({"store": "sqlite:///unused"}), store, MemoryBus())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        whole = await api.get("/v1/jobs/job/log", headers={"Accept-Encoding": "zstd"})
        assert whole.content == reference
        if masked:
            assert whole.headers.get("content-encoding") is None  # never the raw stored frames
        assert whole.headers["log-next-offset"] == str(len(reference))
        offset = await api.get("/v1/jobs/job/log", params={"offset": first})
        assert offset.content == reference[first:]
        ranged = await api.get("/v1/jobs/job/log", headers={"Range": f"bytes={first}-{last}"})
        if first < len(reference):
            assert ranged.status_code == 206
            assert ranged.content == reference[first : last + 1]
        else:
            assert ranged.status_code == 416


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=logs_with_secrets(), seed=st.integers(0, 2**32), resume=st.integers(0, 60), span=st.data())
def test_every_read_path_is_the_masked_log(
    case: tuple[bytes, list[bytes]], seed: int, resume: int, span: st.DataObject
) -> None:
    log, secrets = case
    reference = naive_mask(log, secrets)
    pieces = cuts(log, seed)
    first = span.draw(st.integers(0, len(reference)))
    last = span.draw(st.integers(first, len(reference) + 2))
    from_clock = resume % (len(pieces) + 1)

    async def scenario(directory: str) -> None:
        store = SQLiteStore(Path(directory) / "db.sqlite")
        try:
            await store.add_secrets("job", secrets)
            chunks = [Chunk.create("job", c, p, final=c == len(pieces) - 1) for c, p in enumerate(pieces)]
            random.Random(seed).shuffle(chunks)
            for chunk in chunks:
                await store.put_chunk(chunk)
            for archived in (False, True):
                await http_reads(store, reference, first, last, bool(secrets))
                frames = await tail_frames(store, secrets, 0, MemoryBus())
                assert b"".join(f.data for f in frames) == reference
                resumed = await tail_frames(store, secrets, from_clock, MemoryBus())
                assert [(f.clock, f.data) for f in resumed] == [
                    (f.clock, f.data) for f in frames[from_clock:]
                ]
                if not archived:
                    settings = CompactSettings(segment_bytes=1024, grace_s=0.1)
                    assert await ArchiveJob(store, settings, "me").run("job") is Outcome.COMPACTED
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(asyncio.wait_for(scenario(directory), 60))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=logs_with_secrets(), seed=st.integers(0, 2**32))
def test_a_live_tail_of_chunks_arriving_out_of_order_is_the_masked_log(
    case: tuple[bytes, list[bytes]], seed: int
) -> None:
    """Chunks stored and announced in a random order while the tail runs: its frames, in clock
    order, concatenate to the masked log, and a secret split across chunks never shows."""
    log, secrets = case
    pieces = cuts(log, seed)

    async def scenario(directory: str) -> list[ChunkEvent]:
        store = SQLiteStore(Path(directory) / "db.sqlite")
        bus = MemoryBus()
        await store.add_secrets("job", secrets)
        order = list(range(len(pieces)))
        random.Random(seed).shuffle(order)

        async def writer() -> None:
            await asyncio.sleep(0.005)
            for clock in order:
                final = clock == len(pieces) - 1
                await store.put_chunk(Chunk.create("job", clock, pieces[clock], final=final))
                await bus.announce(Announcement("job", clock, pieces[clock], final))
                await asyncio.sleep(0)

        writing = asyncio.create_task(writer())
        try:
            frames = await tail_frames(store, secrets, 0, bus)
            await writing
            return frames
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as directory:
        frames = asyncio.run(asyncio.wait_for(scenario(directory), 30))
    assert b"".join(f.data for f in frames) == naive_mask(log, secrets)
    shown = b"".join(f.data for f in frames)
    for secret in secrets:  # no secret survives, unless the masks themselves spell it
        assert secret not in re.sub(rb"\*\*\*", b"\x00", shown)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=logs_with_secrets(), seed=st.integers(0, 2**32), cut=st.integers(0, 60))
def test_a_running_log_shows_a_prefix_of_the_masked_log_that_offset_reads_complete(
    case: tuple[bytes, list[bytes]], seed: int, cut: int
) -> None:
    """While the job runs, a download never shows bytes that could still turn into `***`: what it
    shows is a prefix of the final masked log, and `?offset=` from there gives exactly the rest."""
    log, secrets = case
    reference = naive_mask(log, secrets)
    pieces = cuts(log, seed)
    running = cut % len(pieces)  # clocks 0..running-1 are stored, the final one is not

    async def scenario(directory: str) -> None:
        store = SQLiteStore(Path(directory) / "db.sqlite")
        app = build_app(Settings({"store": "sqlite:///unused"}), store, MemoryBus())
        transport = httpx.ASGITransport(app=app)
        try:
            await store.add_secrets("job", secrets)
            chunks = [Chunk.create("job", c, p, final=c == len(pieces) - 1) for c, p in enumerate(pieces)]
            await store.put_chunks(chunks[:running])
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as api:
                early = await api.get("/v1/jobs/job/log") if running else None
                shown = early.content if early is not None else b""
                assert reference.startswith(shown)
                if early is not None:
                    assert early.headers["log-next-offset"] == str(len(shown))
                await store.put_chunks(chunks[running:])
                rest = await api.get("/v1/jobs/job/log", params={"offset": len(shown)})
                assert shown + rest.content == reference
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(asyncio.wait_for(scenario(directory), 30))


def shown_secrets(shown: bytes, secrets: list[bytes]) -> list[bytes]:
    """Registered secrets that occur in `shown`, except where the masks themselves spell one."""
    unmasked = re.sub(rb"\*\*\*", b"\x00", shown)
    return [secret for secret in secrets if b"*" not in secret and secret in unmasked]


@st.composite
def split_secrets(draw: st.DrawFn) -> tuple[bytes, list[bytes], list[bytes]]:
    """A log whose secret is cut across two chunks at every position (and other chunking
    around it), with more secrets possibly occurring elsewhere: (log, secrets, pieces)."""
    log, secrets = draw(logs_with_secrets())
    secret = draw(st.binary(min_size=2, max_size=8).map(lambda b: bytes(97 + x % 3 for x in b)))
    cut = draw(st.integers(1, len(secret) - 1))
    before = draw(st.binary(max_size=6).map(lambda b: bytes(97 + x % 4 for x in b)))
    pieces = [*cuts(log, draw(st.integers(0, 2**32))), before + secret[:cut], secret[cut:] + b"\n"]
    pieces += cuts(log, draw(st.integers(0, 2**32)))
    return b"".join(pieces), [*secrets, secret], pieces


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=split_secrets(), seed=st.integers(0, 2**32), start=st.integers(0, 200))
def test_a_tail_that_starts_ahead_of_the_stored_log_sends_the_same_slice(
    case: tuple[bytes, list[bytes], list[bytes]], seed: int, start: int
) -> None:
    """A viewer asks for `from_clock = K` before the clocks below K are stored (any reader
    polling for the next chunk does); the chunks then arrive live in any order. Its frames are
    exactly those an unbroken tail from clock 0 sends from K on (the same slice of the masked
    log), and no secret, whatever chunks it was cut across, shows in them."""
    log, secrets, pieces = case
    reference = naive_mask(log, secrets)
    from_clock = start % (len(pieces) + 1)
    stored_first = random.Random(seed).randint(0, len(pieces))  # clocks stored before the viewer came

    async def scenario(directory: str) -> tuple[list[ChunkEvent], list[ChunkEvent]]:
        store = SQLiteStore(Path(directory) / "db.sqlite")
        bus = MemoryBus()
        await store.add_secrets("job", secrets)
        order = list(range(len(pieces)))
        random.Random(seed).shuffle(order)
        chunks = [Chunk.create("job", c, p, final=c == len(pieces) - 1) for c, p in enumerate(pieces)]
        for clock in order[:stored_first]:
            await store.put_chunk(chunks[clock])

        async def writer() -> None:
            await asyncio.sleep(0.005)
            for clock in order[stored_first:]:
                await store.put_chunk(chunks[clock])
                await bus.announce(Announcement("job", clock, pieces[clock], chunks[clock].final))
                await asyncio.sleep(0)

        writing = asyncio.create_task(writer())
        try:
            ahead = await tail_frames(store, secrets, from_clock, bus)
            await writing
            return ahead, await tail_frames(store, secrets, 0, MemoryBus())
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as directory:
        ahead, unbroken = asyncio.run(asyncio.wait_for(scenario(directory), 30))
    assert b"".join(f.data for f in unbroken) == reference
    assert [(f.clock, f.data) for f in ahead] == [(f.clock, f.data) for f in unbroken[from_clock:]]
    offset = sum(len(f.data) for f in unbroken[:from_clock])
    assert b"".join(f.data for f in ahead) == reference[offset:]
    assert shown_secrets(b"".join(f.data for f in ahead), secrets) == []


def naive_tokens(log: bytes, secrets: list[bytes]) -> list[tuple[int, int, bytes]]:
    """The masked log as (raw start, raw end, output) tokens: kept bytes and masks."""
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
    tokens, at = [], 0
    while at < len(log):
        hit = next((s for s in ordered if log.startswith(s, at)), None)
        end = at + (len(hit) if hit else 1)
        tokens.append((at, end, b"***" if hit else log[at:end]))
        at = end
    return tokens


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=split_secrets(), seed=st.integers(0, 2**32), when=st.integers(0, 200), known=st.data())
def test_secrets_registered_while_a_viewer_follows_mask_everything_sent_after(
    case: tuple[bytes, list[bytes], list[bytes]], seed: int, when: int, known: st.DataObject
) -> None:
    """A viewer follows a job that has some of its secrets (maybe none); after it got the frames
    of clocks below R, the rest are registered, then the later chunks are stored in any order.
    The frames below R are what was sent under the old secrets; everything after is the masked
    log (all secrets) from where the viewer's bytes ended, so no registered secret shows after
    the registration, even one that began in bytes sent before it."""
    log, secrets, pieces = case
    early = known.draw(st.lists(st.sampled_from(secrets), unique=True)) if secrets else []
    registered = random.Random(seed).randint(1, len(pieces))  # R: clocks sent before the registration

    async def scenario(directory: str) -> list[ChunkEvent]:
        store = SQLiteStore(Path(directory) / "db.sqlite")
        bus = MemoryBus()
        await store.add_secrets("job", early)
        chunks = [Chunk.create("job", c, p, final=c == len(pieces) - 1) for c, p in enumerate(pieces)]
        first = list(range(registered))
        later = list(range(registered, len(pieces)))
        random.Random(seed).shuffle(first)
        random.Random(seed + 1).shuffle(later)
        watch = ProtectionWatch(store)
        protection = await store.job_protection("job")
        tail = GuardedTail(store, LiveHub(bus), "job", 0, protection, watch, lambda _: Verdict.ALLOWED)
        frames: list[ChunkEvent] = []
        sent_all_early = asyncio.Event()

        async def writer() -> None:
            await asyncio.sleep(0.005)
            for clock in first:
                await store.put_chunk(chunks[clock])
                await bus.announce(Announcement("job", clock, pieces[clock], chunks[clock].final))
            await sent_all_early.wait()
            await store.add_secrets("job", secrets)
            for clock in later:
                await store.put_chunk(chunks[clock])
                await bus.announce(Announcement("job", clock, pieces[clock], chunks[clock].final))
                await asyncio.sleep(0)

        writing = asyncio.create_task(writer())
        try:
            async for event in tail.events():
                if isinstance(event, ChunkEvent):
                    frames.append(event)
                    if event.clock == registered - 1:
                        sent_all_early.set()
            await writing
            return frames
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as directory:
        frames = asyncio.run(asyncio.wait_for(scenario(directory), 30))
    assert [f.clock for f in frames] == list(range(len(frames)))
    before = [f for f in frames if f.clock < registered]
    after = b"".join(f.data for f in frames if f.clock >= registered)
    raw_before = b"".join(pieces[:registered])
    old = Masker(early)
    shown = old.feed(raw_before) + (old.flush() if registered == len(pieces) else b"")
    assert b"".join(f.data for f in before) == shown  # what the viewer had
    ends = len(raw_before) - old.held  # the viewer has the raw log (masked the old way) up to here
    assert after == b"".join(out for _, end, out in naive_tokens(log, secrets) if end > ends)
    assert shown_secrets(after, secrets) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    case=split_secrets(),
    seed=st.integers(0, 2**32),
    query=st.binary(min_size=1, max_size=3).map(lambda b: bytes(b"ab*\n"[x % 3] for x in b)),
    limit=st.integers(1, 4),
    start=st.data(),
)
def test_search_pages_from_any_cursor_are_the_masked_log(
    case: tuple[bytes, list[bytes], list[bytes]], seed: int, query: bytes, limit: int, start: st.DataObject
) -> None:
    """Search pages of any size, followed cursor by cursor from any line start of the masked log,
    find exactly the lines of the masked log (grep's offsets of it), never a secret."""
    log, secrets, pieces = case
    reference = naive_mask(log, secrets)
    starts = [0] + [i + 1 for i, byte in enumerate(reference) if byte == ord("\n") and i + 1 < len(reference)]
    first = start.draw(st.sampled_from(starts))
    line_number = reference[:first].count(b"\n") + 1
    wanted, offset = [], first
    for number, line in enumerate(reference[first:].split(b"\n"), line_number):
        if query in line and (offset < len(reference)):
            wanted.append((number, offset, line.decode()))
        offset += len(line) + 1

    async def scenario(directory: str) -> list[tuple[int, int, str]]:
        store = SQLiteStore(Path(directory) / "db.sqlite")
        try:
            await store.add_secrets("job", secrets)
            chunks = [Chunk.create("job", c, p, final=c == len(pieces) - 1) for c, p in enumerate(pieces)]
            random.Random(seed).shuffle(chunks)
            await store.put_chunks(chunks)
            app = build_app(Settings({"store": "sqlite:///unused"}), store, MemoryBus())
            found: list[tuple[int, int, str]] = []
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
                cursor: str | None = f"{first}.{line_number}"
                while cursor is not None:
                    params = {"q": query.decode(), "limit": str(limit), "cursor": cursor}
                    response = await api.get("/v1/jobs/job/search", params=params)
                    assert response.status_code == 200, response.text
                    *matches, end = [json.loads(line) for line in response.text.splitlines()]
                    found += [(m["line"], m["offset"], m["text"]) for m in matches]
                    cursor = end["next_cursor"]
            return found
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as directory:
        found = asyncio.run(asyncio.wait_for(scenario(directory), 30))
    assert found == wanted
    # each match is one line: glued together, two lines' ends could spell a secret neither shows
    for _, _, text in found:
        assert shown_secrets(text.encode(), secrets) == [], text

"""No message can stop ingestion: header tables over every AMQP field type, written as raw frames
(not by aio-pika, which cannot produce many of them), published through the real RabbitMQ to two
real ingesters on the real Cassandra, interleaved with good jobs.

Each generated message is either a valid chunk (a fresh job id, a clock of any integer width,
a boolean or absent `final`, any other headers at all) or carries at least one bad contract
header. The valid ones must be stored byte for byte; the others dead-lettered with a reason,
their body intact and nothing stored; the good jobs byte-exact; the ingesters up and ready; the
queue drained to 0.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.harness.processes import Role
from benchmarks.harness.workload import make_jobs, messages, mismatches, publish, wait_complete
from logstore.bus.messages import ORIGINAL_HEADERS_HEADER, REASON_HEADER
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings
from logstore.store.cassandra.backend import CassandraStore
from tests.integration import amqp_fields as F
from tests.integration.amqp_fixtures import drain_queue, queue_depth
from tests.integration.raw_amqp import RawAmqpPublisher
from tests.servers import require_cassandra

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(900)]

CONTRACT = {b"job_id", b"clock", b"final", b"sent_at", b"sent_at_us", b"private"}
REASONS = {"malformed_headers", "invalid_job_id", "invalid_clock"}

# -- values of every AMQP field type (RabbitMQ's dialect), written byte by byte ----------------

small_ints = st.one_of(
    st.integers(0, 127).map(F.int8),
    st.integers(0, 255).map(F.uint8),
    st.integers(0, 1000).map(F.int16),
    st.integers(0, 1000).map(F.uint16),
    st.integers(0, 1000).map(F.int32),
    st.integers(0, 1000).map(F.uint32),
    st.integers(0, 2**63 - 1).map(F.int64),
)
negative_ints = st.one_of(
    st.integers(-128, -1).map(F.int8),
    st.integers(-(2**15), -1).map(F.int16),
    st.integers(-(2**31), -1).map(F.int32),
    st.integers(-(2**63), -1).map(F.int64),
)
binary = st.binary(max_size=64)
scalars = st.one_of(
    small_ints,
    negative_ints,
    st.booleans().map(F.boolean),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(F.float32),
    st.floats(allow_nan=False, allow_infinity=False).map(F.float64),
    st.tuples(st.integers(0, 255), st.integers(-(2**31), 2**31 - 1)).map(lambda sv: F.decimal(*sv)),
    st.integers(0, 2**64 - 1).map(F.timestamp),
    st.just(F.void()),
    binary.map(F.byte_array),
    binary.map(F.long_string),
    st.text(max_size=32).map(lambda t: F.long_string(t.encode())),
)
keys = st.binary(min_size=1, max_size=40).filter(lambda k: k not in CONTRACT)
any_value = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(F.array),
        st.dictionaries(keys, inner, max_size=4).map(F.nested),
    ),
    max_leaves=12,
)
long_strings = st.integers(20_000, 90_000).map(lambda n: F.long_string(b"y" * n))

bad_job_ids = st.one_of(
    st.sampled_from([b"bad id", b"../etc/passwd", b"", b"a" * 129, b"\xff\xfe", b"job/1"]).map(F.long_string),
    st.just(b"\xc3\x28").map(F.byte_array),
    small_ints,
    negative_ints,
    st.just(F.void()),
    st.integers(0, 2**64 - 1).map(F.timestamp),
    st.lists(scalars, max_size=3).map(F.array),
)
bad_clocks = st.one_of(
    negative_ints,
    st.booleans().map(F.boolean),
    st.floats(allow_nan=False, allow_infinity=False).map(F.float64),
    st.integers(0, 2**64 - 1).map(F.timestamp),
    st.just(F.void()),
    st.sampled_from([b"5", b"0"]).map(F.long_string),
    st.tuples(st.integers(0, 255), st.integers(0, 100)).map(lambda sv: F.decimal(*sv)),
    st.dictionaries(keys, scalars, max_size=2).map(F.nested),
)
bad_finals = st.one_of(small_ints, st.just(F.void()), st.sampled_from([b"true", b"yes"]).map(F.long_string))


@dataclass(frozen=True)
class Plan:
    """One generated message: which contract headers are bad (if any) and the other headers."""

    id_as_bytes: bool  # the valid job id as a byte array instead of a long string
    clock: bytes
    bad_job_id: bytes | None
    bad_clock: bytes | None
    drop_clock: bool
    final: bytes | None  # None: absent
    bad_final: bytes | None
    extra: dict[bytes, bytes]
    long_header: bytes | None

    @property
    def valid(self) -> bool:
        return (
            self.bad_job_id is None
            and self.bad_clock is None
            and not self.drop_clock
            and self.bad_final is None
        )


plans = st.builds(
    Plan,
    id_as_bytes=st.booleans(),
    clock=small_ints,
    bad_job_id=st.none() | bad_job_ids,
    bad_clock=st.none() | bad_clocks,
    drop_clock=st.sampled_from([False, False, False, True]),
    final=st.none() | st.booleans().map(F.boolean),
    bad_final=st.none() | bad_finals,
    extra=st.dictionaries(keys, any_value, max_size=5),
    long_header=st.none() | long_strings,
)


def table_of(plan: Plan, job_id: str) -> bytes:
    fields: dict[bytes, bytes] = dict(plan.extra)
    if plan.long_header is not None:
        fields[b"x-long"] = plan.long_header
    good_id = F.byte_array(job_id.encode()) if plan.id_as_bytes else F.long_string(job_id.encode())
    fields[b"job_id"] = plan.bad_job_id if plan.bad_job_id is not None else good_id
    if not plan.drop_clock:
        fields[b"clock"] = plan.bad_clock if plan.bad_clock is not None else plan.clock
    if plan.bad_final is not None:
        fields[b"final"] = plan.bad_final
    elif plan.final is not None:
        fields[b"final"] = plan.final
    return F.table(fields)


def clock_value(encoded: bytes) -> int:
    width = {b"b": ">b", b"B": ">B", b"s": ">h", b"u": ">H", b"I": ">i", b"i": ">I", b"l": ">q"}
    return int(struct.unpack(width[encoded[:1]], encoded[1:])[0])


async def ready(role: Role) -> bool:
    async with httpx.AsyncClient(timeout=60) as client:
        return role.process.poll() is None and (await client.get(f"{role.base}/readyz")).status_code == 200


async def one_round(
    batch: list[Plan], round_id: int, bus: BusSettings, roles: list[Role], prefix: str
) -> None:
    """Publish the round's messages between two halves of two good jobs; check every outcome."""
    good = make_jobs(f"{prefix}-good{round_id}", 2, 20, seed=round_id)
    items = messages(good, 0.0, seed=round_id)
    store = await CassandraStore.connect(require_cassandra())
    publisher = await ChunkPublisher.connect(bus)
    try:
        await publish(publisher, items[: len(items) // 2])
        sent: dict[bytes, tuple[Plan, str]] = {}
        async with RawAmqpPublisher() as raw:
            for index, plan in enumerate(batch):
                target = f"{prefix}-r{round_id}-m{index}"
                body = f"message {target}: ".encode() + bytes(range(256))
                await raw.publish(bus.chunks_exchange, "", table_of(plan, target), body)
                sent[body] = (plan, target)
        await publish(publisher, items[len(items) // 2 :])

        refused = {body: pt for body, pt in sent.items() if not pt[0].valid}
        assert await wait_complete(store, good, within_s=180) == []
        assert await mismatches(store, good) == []
        for _ in range(1800):
            if await queue_depth(bus, bus.dead_letter_queue) >= len(refused):
                break
            await asyncio.sleep(0.1)
        dead = {m.body: m for m in await drain_queue(bus, bus.dead_letter_queue)}
        assert set(dead) == set(refused)
        for body, message in dead.items():
            headers = message.headers or {}
            assert headers[REASON_HEADER] in REASONS, (refused[body], headers)
            json.loads(str(headers[ORIGINAL_HEADERS_HEADER]))  # always there, always JSON
        for body, (plan, target) in sent.items():
            stored = [c async for c in store.read_chunks(target)]
            assert stored == ([(clock_value(plan.clock), body)] if plan.valid else []), plan
        assert all([await ready(role) for role in roles])
    finally:
        await publisher.close()
        await store.close()


async def drained(settings: BusSettings) -> int:
    for _ in range(600):
        if await queue_depth(settings, settings.ingest_queue) == 0:
            break
        await asyncio.sleep(0.1)
    return await queue_depth(settings, settings.ingest_queue)


def test_no_header_table_stops_ingestion(
    ingesters: Callable[..., list[Role]], bus_settings: BusSettings, job_id: str
) -> None:
    roles = ingesters(2)
    rounds = itertools.count()

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(batch=st.lists(plans, min_size=4, max_size=16))
    def check(batch: list[Plan]) -> None:
        asyncio.run(one_round(batch, next(rounds), bus_settings, roles, job_id))

    check()
    assert asyncio.run(drained(bus_settings)) == 0
    assert all(asyncio.run(ready(role)) for role in roles)

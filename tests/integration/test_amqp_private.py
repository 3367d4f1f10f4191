"""The AMQP header `private`: an ingester marks the job private before storing its chunk."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from benchmarks.harness.processes import Role
from logstore.bus.publisher import ChunkPublisher
from logstore.store.cassandra.backend import CassandraStore
from tests.polling import eventually

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(120)]


async def test_the_private_header_marks_the_job_before_its_chunk_is_stored(
    ingesters: Callable[..., list[Role]],
    publisher: ChunkPublisher,
    cassandra_store: CassandraStore,
    job_id: str,
) -> None:
    ingesters(1)
    await publisher.publish(f"{job_id}-private", 0, b"hidden\n", final=True, private=True)
    await publisher.publish(f"{job_id}-public", 0, b"open\n", final=True)

    async def stored() -> list[list[tuple[int, bytes]]]:
        return [
            [c async for c in cassandra_store.read_chunks(f"{job_id}-{kind}")]
            for kind in ("private", "public")
        ]

    async def both_stored() -> bool:
        return all(await stored())

    await eventually(both_stored, poll_s=0.1, what="both chunks stored")
    assert await stored() == [[(0, b"hidden\n")], [(0, b"open\n")]]
    assert (await cassandra_store.job_protection(f"{job_id}-private")).private
    assert not (await cassandra_store.job_protection(f"{job_id}-public")).private

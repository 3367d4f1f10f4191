"""A store that answers but cannot take writes at the write consistency (system.local answers,
every QUORUM write fails: tests/quorum_outage.py) never sends a good chunk to the dead-letter
queue, however long it lasts: the ingester holds what it has unacknowledged, pauses, says so on
/readyz, and stores every chunk once writes succeed again."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from benchmarks.harness.processes import Role
from benchmarks.harness.workload import make_jobs, messages, mismatches, publish, wait_complete
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings
from logstore.store.cassandra.backend import CassandraStore
from tests.integration.amqp_fixtures import queue_depth
from tests.polling import eventually, metric
from tests.quorum_outage import QuorumOutage, quorum_outage

__all__ = ["quorum_outage"]

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(600)]

DELIVERY_LIMIT = 3
HOLD_S = 6.0  # the tests' stand-in for 25 min below RabbitMQ's consumer_timeout
TRIALS = 'logstore_ingest_store_breaker_transitions_total{state="half_open"}'


async def readyz(role: Role) -> int:
    async with httpx.AsyncClient(timeout=30) as client:
        return (await client.get(f"{role.base}/readyz")).status_code


async def test_quorum_writes_refused_for_longer_than_the_delivery_limit_dead_letter_nothing(
    quorum_outage: QuorumOutage, bus_settings: BusSettings, tmp_path: Path, job_id: str
) -> None:
    settings = bus_settings.model_copy(update={"delivery_limit": DELIVERY_LIMIT})
    env = {
        **settings.as_env(),
        "LOGSTORE_DELIVERY_LIMIT": str(DELIVERY_LIMIT),
        "LOGSTORE_HOLD_S": str(HOLD_S),
        "LOGSTORE_STORE_PROBE_S": "0.05",
        "LOGSTORE_STORE_PROBE_MAX_S": "0.2",
    }
    args = ["--store", quorum_outage.url]
    publisher = await ChunkPublisher.connect(settings)  # declares the ingest queue with the limit
    store = await CassandraStore.connect(quorum_outage.url)
    roles: list[Role] = []
    ready_answers: list[int] = []

    async def answers(role: Role) -> int:
        status = await readyz(role)
        ready_answers.append(status)
        return status

    async def holding(role: Role) -> bool:
        return await metric(role.base, "logstore_ingest_held_messages") > 0

    try:
        first = Role("ingest", tmp_path, args, env).wait_ready()
        roles.append(first)
        await quorum_outage.start()

        async def first_not_ready() -> bool:
            return await answers(first) == 503

        await eventually(first_not_ready, what="/readyz 503 once writes fail")
        jobs = make_jobs(job_id, 4, 40, seed=41)
        await publish(publisher, messages(jobs, 0.1, seed=42))
        await eventually(lambda: holding(first), what="the first ingester holding the chunks")
        assert await metric(first.base, "logstore_ingest_consuming") == 0  # paused
        # stopped while holding: what it holds goes back as fresh copies (no delivery counted)
        assert first.stop() == 0
        second = Role("ingest", tmp_path, args, env)
        roles.append(second)

        async def second_up() -> bool:
            try:
                return await answers(second) == 503 and await holding(second)
            except httpx.TransportError:
                return False

        await eventually(second_up, what="the second ingester up, not ready, holding the chunks")

        # Before, each trial of the breaker asked system.local, which answered: consumption resumed,
        # the batch failed and was handed back, one delivery counted. Let the second ingester make
        # more trials than the limit allows such rounds, and hold past hold_s, so that what it held
        # also went back as fresh copies.
        async def outlasted() -> bool:
            await answers(second)
            trials = await metric(second.base, TRIALS)
            fresh = await metric(second.base, "logstore_ingest_requeued_fresh_total")
            return trials > DELIVERY_LIMIT + 1 and fresh > 0

        await eventually(outlasted, within_s=120, poll_s=0.2, what="the outage outlasting the delivery limit")
        assert await queue_depth(settings, settings.dead_letter_queue) == 0
        assert set(ready_answers) == {503}
        await quorum_outage.end()

        async def second_ready() -> bool:
            return await readyz(second) == 200

        await eventually(second_ready, what="/readyz 200 once writes succeed")
        assert await wait_complete(store, jobs, within_s=120) == []
        assert await mismatches(store, jobs) == []
        assert await queue_depth(settings, settings.dead_letter_queue) == 0
        assert await queue_depth(settings, settings.ingest_queue) == 0
        assert await metric(second.base, "logstore_ingest_dead_letters_total") == 0
        assert await metric(second.base, "logstore_ingest_consuming") == 1
    finally:
        for role in roles:
            role.stop()
        await publisher.close()
        await store.close()

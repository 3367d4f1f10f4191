"""Over AMQP, through real ingest and compact processes on Cassandra and RabbitMQ: a job's chunks
re-published after it was archived (an ingester killed before its acks, a worker that retried)
are acked as duplicates; other bytes for an archived clock are dead-lettered `conflict`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from benchmarks.harness.processes import Role, metric_value
from benchmarks.harness.workload import make_jobs, messages, publish, wait_complete
from logstore.bus.messages import REASON_HEADER
from logstore.bus.publisher import ChunkPublisher
from logstore.config import BusSettings
from logstore.store.cassandra.backend import CassandraStore
from tests.integration.amqp_fixtures import drain_queue, queue_depth
from tests.integration.test_compaction import wait_compacted, wrong_archives

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(600)]


def duplicates(roles: list[Role]) -> float:
    return sum(metric_value(r.metrics(), 'logstore_ingest_chunks_total{result="duplicate"}') for r in roles)


async def test_chunks_re_sent_after_compaction_are_acked_and_other_bytes_refused(
    ingesters: Callable[..., list[Role]],
    compactors: Callable[..., list[Role]],
    publisher: ChunkPublisher,
    cassandra_store: CassandraStore,
    bus_settings: BusSettings,
    job_id: str,
) -> None:
    roles = ingesters(1)
    compactors(1, "--grace-s", "0.5")
    jobs = make_jobs(job_id, 3, 40, seed=17)
    await publish(publisher, messages(jobs, 0.0))
    assert await wait_complete(cassandra_store, jobs, within_s=180) == []
    assert await wait_compacted(cassandra_store, jobs, within_s=180) == []
    before = duplicates(roles)
    again = messages(jobs, 0.0, seed=18)  # every chunk once more, final ones included
    await publish(publisher, again)
    target = jobs[0]
    await publisher.publish(target.job_id, 5, target.pieces[5] + b" tampered")
    for _ in range(1200):
        if duplicates(roles) - before >= len(again) and await queue_depth(
            bus_settings, bus_settings.dead_letter_queue
        ):
            break
        await asyncio.sleep(0.1)
    assert duplicates(roles) - before == len(again)
    dead = await drain_queue(bus_settings, bus_settings.dead_letter_queue)
    assert [(str((m.headers or {})[REASON_HEADER]), m.body) for m in dead] == [
        ("conflict", target.pieces[5] + b" tampered")
    ]
    assert await queue_depth(bus_settings, bus_settings.ingest_queue) == 0
    assert await wrong_archives(cassandra_store, jobs) == []  # the archives are untouched

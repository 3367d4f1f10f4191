"""`logstore serve` given RabbitMQ runs every role in one process, the AMQP ingester included: a
worker written in Go publishes a real log to the chunks exchange, and the same process serves it
back byte for byte, on SQLite and on the real Cassandra."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from benchmarks.harness.corpus import CORPUS, split
from benchmarks.harness.processes import serving
from logstore.config import BusSettings
from tests.integration.amqp_fixtures import queue_consumers
from tests.integration.go_publisher import go_publish, require_go_publisher
from tests.polling import eventually
from tests.servers import require_cassandra

pytestmark = [pytest.mark.rabbitmq, pytest.mark.timeout(600)]

LOG = CORPUS / "buildkite" / "buildah-build.sh.raw"  # 48 KB of a real build, ANSI colours and all
CHUNK_BYTES = 2000  # 25 chunks


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'logstore.db'}"
    request.getfixturevalue("cassandra_store")  # its schema applied
    return require_cassandra()


async def complete_log(base: str, job_id: str) -> bytes:
    """The job's log once the server says it is whole (`Log-Complete: true`)."""
    got: list[bytes] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def whole() -> bool:
            answer = await client.get(f"/v1/jobs/{job_id}/log")
            if answer.status_code == 200 and answer.headers["Log-Complete"] == "true":
                got.append(answer.content)
            return bool(got)

        await eventually(whole, poll_s=0.1, what=f"the whole log of {job_id}")
    return got[0]


async def test_serve_ingests_what_a_go_worker_publishes(
    store_url: str, bus_settings: BusSettings, tmp_path: Path, job_id: str
) -> None:
    require_go_publisher()
    source = LOG.read_bytes()
    with serving(store_url, tmp_path, env=bus_settings.as_env()) as base:

        async def consuming() -> bool:
            return await queue_consumers(bus_settings, bus_settings.ingest_queue) > 0

        await eventually(consuming, poll_s=0.2, what="a consumer on the ingest queue")
        report = await asyncio.to_thread(go_publish, bus_settings, job_id, LOG, CHUNK_BYTES)
        assert report == f"{len(split(source, CHUNK_BYTES))} chunks confirmed"
        assert await complete_log(base, job_id) == source

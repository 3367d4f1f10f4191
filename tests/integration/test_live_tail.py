"""Live tails through real processes (ingesters and a streamer on RabbitMQ and Cassandra):
every viewer receives exactly the source, whatever the write order, drops and load."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable

import httpx
import pytest

from benchmarks.harness.processes import Role
from benchmarks.harness.viewer import watch
from benchmarks.harness.workload import Job, make_jobs, messages, publish
from logstore.bus.publisher import ChunkPublisher
from tests.polling import eventually, metric, metric_reaches

pytestmark = [pytest.mark.cassandra, pytest.mark.rabbitmq, pytest.mark.timeout(600)]


async def wait_viewers(streamer: Role, count: int) -> None:
    async def connected() -> bool:
        return await metric(streamer.base, "logstore_stream_viewers") >= count

    await eventually(connected, within_s=180, poll_s=0.1, what=f"{count} viewers connected")


async def write_live(publisher: ChunkPublisher, jobs: list[Job], writers: int, seed: int) -> None:
    """`writers` concurrent senders, each a share of the shuffled chunks (5% duplicates), paced."""
    items = messages(jobs, 0.05, seed=seed)

    async def writer(part: list[tuple[str, int, bytes, bool]]) -> None:
        for start in range(0, len(part), 20):
            await publish(publisher, part[start : start + 20])
            await asyncio.sleep(0.01)

    await asyncio.gather(*(writer(items[w::writers]) for w in range(writers)))


async def test_fifty_viewers_while_four_writers_write_shuffled(
    ingesters: Callable[..., list[Role]], streamer: Role, publisher: ChunkPublisher, job_id: str
) -> None:
    ingesters(2)
    (job,) = make_jobs(job_id, 1, 400, seed=41)
    viewers = [asyncio.create_task(watch(streamer.base, job.job_id)) for _ in range(50)]
    await wait_viewers(streamer, 50)
    await write_live(publisher, [job], writers=4, seed=42)
    results = await asyncio.wait_for(asyncio.gather(*viewers), 120)
    for seen in results:
        assert seen.ended
        assert seen.end_final_clock == 399
        assert seen.close_code == 1000
        assert bytes(seen.data) == job.source
    download = await asyncio.to_thread(httpx.get, f"{streamer.base}/v1/jobs/{job.job_id}/log", timeout=30)
    assert download.content == job.source
    assert download.headers["log-complete"] == "true"


async def test_viewers_dropped_at_random_points_resume_exactly(
    ingesters: Callable[..., list[Role]], streamer: Role, publisher: ChunkPublisher, job_id: str
) -> None:
    ingesters(2)
    (job,) = make_jobs(job_id, 1, 300, seed=51)
    rng = random.Random(52)

    async def hopping_viewer() -> bytes:
        received = bytearray()
        clock = 0
        while True:
            seen = await watch(streamer.base, job.job_id, clock, stop_after=rng.randint(1, 120))
            received += seen.data
            clock = seen.next_clock
            if seen.ended or clock == 300:
                return bytes(received)

    viewers = [asyncio.create_task(hopping_viewer()) for _ in range(20)]
    await write_live(publisher, [job], writers=4, seed=53)
    for received in await asyncio.wait_for(asyncio.gather(*viewers), 120):
        assert received == job.source


def stalled_viewer(base: str, job_id: str) -> socket.socket:
    """A client that opens the tail and then never reads: its TCP window fills up."""
    port = int(base.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(
        f"GET /v1/jobs/{job_id}/tail HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return sock


async def test_a_thousand_viewers_on_a_hundred_jobs_and_one_stalled(
    ingesters: Callable[..., list[Role]], streamer: Role, publisher: ChunkPublisher, job_id: str
) -> None:
    ingesters(2)
    jobs = make_jobs(job_id, 100, 40, seed=61)
    (big,) = make_jobs(f"{job_id}-big", 1, 60, seed=62)
    big.pieces = [piece * 300 for piece in big.pieces]  # about 15 MB: more than any socket buffer
    stalled = stalled_viewer(streamer.base, big.job_id)
    viewers = [asyncio.create_task(watch(streamer.base, jobs[i % 100].job_id)) for i in range(1000)]
    await wait_viewers(streamer, 1001)
    await write_live(publisher, [big], writers=1, seed=63)
    await write_live(publisher, jobs, writers=4, seed=64)
    results = await asyncio.wait_for(asyncio.gather(*viewers), 300)
    for index, seen in enumerate(results):
        assert seen.ended
        assert bytes(seen.data) == jobs[index % 100].source
    # The stalled one alone is dropped as too slow: once its socket has been full for the send
    # timeout, which may be after the others are done (the big log's storing can come late).
    await metric_reaches(streamer.base, 'logstore_stream_tail_closed_total{code="4408"}', 1, within_s=180)
    stalled.close()

"""The tail's bad input and limits, through a real `logstore serve`: documented close codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from benchmarks.harness.processes import serving
from benchmarks.harness.viewer import tail_url
from tests.polling import metric, metric_reaches

VIEWERS = "logstore_stream_viewers"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("limits")
    with serving(f"sqlite:///{workdir}/db.sqlite", workdir, "--max-viewers-per-client", "2") as base:
        yield base


async def close_code_of(url: str) -> int | None:
    async with connect(url) as socket:
        try:
            await socket.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return socket.close_code


@pytest.mark.parametrize("from_clock", ["-1", "x", "9223372036854775808"])
async def test_bad_from_clock_is_4400(server: str, job_id: str, from_clock: str) -> None:
    url = tail_url(server, job_id, 0).replace("from_clock=0", f"from_clock={from_clock}")
    assert await close_code_of(url) == 4400


async def test_bad_job_id_is_4400(server: str) -> None:
    assert await close_code_of(tail_url(server, "bad id", 0)) == 4400


async def test_viewers_per_client_are_limited_with_4429(server: str, job_id: str) -> None:
    before = await metric(server, VIEWERS)
    async with connect(tail_url(server, job_id, 0)) as first, connect(tail_url(server, job_id, 0)) as second:
        await metric_reaches(server, VIEWERS, before + 2)  # both admitted before a third comes
        assert await close_code_of(tail_url(server, job_id, 0)) == 4429
        assert first.close_code is None
        assert second.close_code is None
    # the server counts them out once it has seen them leave, which may be after their sockets closed
    await metric_reaches(server, VIEWERS, before)
    # then there is room again: the tail is admitted and stays open waiting for the job to start
    async with connect(tail_url(server, job_id, 0)) as again:
        await metric_reaches(server, VIEWERS, before + 1)
        assert again.close_code is None

"""`GET /v1/jobs/{job_id}/times` on SQLite and Cassandra: the server time each chunk was stored,
by clock, the same before and after compaction; null for archives made before times were kept;
offsets hidden for jobs with secrets; private jobs refused exactly as on downloads."""

from __future__ import annotations

import time
from typing import Any

import httpx

from compactor.archive_job import ArchiveJob, Outcome
from logstore import url_signing
from logstore.config import CompactSettings
from logstore.store import LogStore
from logstore.store.archive import Segment, SegmentRef
from tests.stream.conftest import SIGNING_KEY, WRITE, put

MS = 0.001  # Cassandra keeps milliseconds


async def times_of(api: httpx.AsyncClient, job_id: str, query: str = "") -> dict[str, Any]:
    response = await api.get(f"/v1/jobs/{job_id}/times{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_times_by_clock_before_and_after_compaction(
    secured: httpx.AsyncClient, any_store: LogStore, job_id: str
) -> None:
    before = time.time()
    await put(secured, job_id, 0, b"first\n")
    middle = time.time()
    await put(secured, job_id, 1, b"second\n")
    await put(secured, job_id, 3, b"after a hole\n", final=True)
    after = time.time()
    running = await times_of(secured, job_id)
    assert running["complete"] is False
    assert running["offsets"] == [0, 6]  # the readable prefix: clocks 0 and 1
    first, second = running["times"]
    assert before - MS <= first <= middle + MS
    assert middle - MS <= second <= after + MS
    await put(secured, job_id, 2, b"filled\n")
    finished = await times_of(secured, job_id)
    assert len(finished["times"]) == 4
    settings = CompactSettings(segment_bytes=1024, grace_s=0.1)
    assert await ArchiveJob(any_store, settings, "times-test").run(job_id) is Outcome.COMPACTED
    assert await any_store.chunk_times(job_id) == []  # the chunks are gone, the archive keeps them
    assert await times_of(secured, job_id) == {**finished, "complete": True}


async def test_an_archive_from_before_times_were_kept_reads_with_unknown_times(
    secured: httpx.AsyncClient, any_store: LogStore, job_id: str
) -> None:
    for clock, data in enumerate([b"a\n", b"bb\n", b"ccc\n"]):
        await put(secured, job_id, clock, data, final=clock == 2)
    assert await ArchiveJob(any_store, CompactSettings(grace_s=0.1), "t").run(job_id) is Outcome.COMPACTED
    (segment,) = [s async for s in any_store.read_segments(job_id)]
    old = SegmentRef(segment.ref.index, segment.ref.first_clock, segment.ref.sizes, segment.ref.raw_offset)
    await any_store.put_segment(job_id, Segment(old, segment.frame))  # as an older compactor wrote it
    body = await times_of(secured, job_id)
    assert body["times"] == [None, None, None]
    assert body["offsets"] == [0, 2, 5]
    assert (await secured.get(f"/v1/jobs/{job_id}/log")).content == b"a\nbb\nccc\n"


async def test_a_job_with_secrets_shows_times_but_no_offsets(secured: httpx.AsyncClient, job_id: str) -> None:
    headers = {"Authorization": f"Bearer {WRITE}"}
    assert (
        await secured.put(f"/v1/jobs/{job_id}/secrets", json={"secrets": ["s3cr3t-value"]}, headers=headers)
    ).is_success
    await put(secured, job_id, 0, b"token s3cr3t-value\n", final=True)
    body = await times_of(secured, job_id)
    assert body["offsets"] is None
    assert len(body["times"]) == 1
    assert "s3cr3t" not in str(body)


async def test_the_times_of_a_private_job_need_credentials(secured: httpx.AsyncClient, job_id: str) -> None:
    await put(secured, job_id, 0, b"private\n", final=True, private=True)
    assert (await secured.get(f"/v1/jobs/{job_id}/times")).status_code == 404
    key = SIGNING_KEY.encode()
    signed = url_signing.signed_query(key, job_id, url_signing.expiry(600))
    assert len((await times_of(secured, job_id, f"?{signed}"))["times"]) == 1
    other = url_signing.signed_query(key, f"{job_id}-other", url_signing.expiry(600))
    assert (await secured.get(f"/v1/jobs/{job_id}/times?{other}")).status_code == 403
    assert (await secured.get("/v1/jobs/never-seen/times")).status_code == 404
    assert (await secured.get("/v1/jobs/bad%20id/times")).status_code == 422

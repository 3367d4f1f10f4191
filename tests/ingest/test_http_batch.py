"""`POST /v1/chunks`: several chunks of several jobs in one request, one result per chunk with the
status a single PUT would get, and a malformed body stores nothing. Runs on SQLite and on
Cassandra (the api fixture: 1 KiB chunks, 4 KiB logs)."""

from __future__ import annotations

import random

import httpx

from benchmarks.harness.corpus import corpus_files, split
from logstore.batch_body import MEDIA_TYPE, Entry, encode_batch
from logstore.store import LogStore

HEADERS = {"Content-Type": MEDIA_TYPE}


async def post(api: httpx.AsyncClient, entries: list[Entry]) -> list[dict[str, object]]:
    response = await api.post("/v1/chunks", content=encode_batch(entries), headers=HEADERS)
    assert response.status_code == 200, response.text
    results: list[dict[str, object]] = response.json()["results"]
    assert len(results) == len(entries)
    return results


async def test_chunks_of_several_jobs_shuffled_with_duplicates_read_back_exactly(
    api: httpx.AsyncClient, job_id: str
) -> None:
    sources = {f"{job_id}-{i}": path.read_bytes()[:3000] for i, path in enumerate(corpus_files()[:3])}
    entries = [
        Entry(job, clock, piece, clock == len(pieces) - 1, False)
        for job, source in sources.items()
        for pieces in [split(source, 211)]
        for clock, piece in enumerate(pieces)
    ]
    duplicates = random.Random(3).sample(entries, 8)
    mixed = entries + duplicates
    random.Random(4).shuffle(mixed)
    half = len(mixed) // 2
    results = await post(api, mixed[:half]) + await post(api, mixed[half:])
    assert [r["status"] for r in results].count(201) == len(entries)
    assert all(r["status"] in (200, 201) for r in results)
    for job, source in sources.items():
        log = await api.get(f"/v1/jobs/{job}/log")
        assert log.content == source
        assert log.headers["log-complete"] == "true"


async def test_each_chunk_gets_the_status_of_a_single_put(api: httpx.AsyncClient, job_id: str) -> None:
    first = await post(api, [Entry(job_id, 0, b"zero\n", False, False)])
    assert first == [{"status": 201, "job_id": job_id, "clock": 0, "result": "created"}]
    results = await post(
        api,
        [
            Entry(job_id, 0, b"zero\n", False, False),  # identical duplicate
            Entry(job_id, 0, b"other\n", False, False),  # same clock, other bytes
            Entry(job_id, 1, b"one\n", False, False),
            Entry("bad id", 0, b"x", False, False),
            Entry(job_id, 2**63, b"x", False, False),
            Entry(job_id, 2, b"y" * 1025, False, False),
            Entry(job_id, 3, b"three\n", True, False),
            Entry(job_id, 4, b"after the end\n", False, False),
        ],
    )
    assert [(r["status"], r.get("result") or r.get("error")) for r in results] == [
        (200, "duplicate"),
        (409, "conflict"),
        (201, "created"),
        (422, "invalid_job_id"),
        (422, "invalid_clock"),
        (413, "chunk_too_large"),
        (201, "created"),
        (409, "conflict"),
    ]
    log = await api.get(f"/v1/jobs/{job_id}/log")
    assert log.content == b"zero\none\n"  # clock 2 was refused: the prefix stops there
    meta = (await api.get(f"/v1/jobs/{job_id}")).json()
    assert (meta["final_clock"], meta["chunks"]) == (3, 3)


async def test_log_limit_counts_the_chunks_of_the_same_request(api: httpx.AsyncClient, job_id: str) -> None:
    entries = [Entry(job_id, clock, b"z" * 1000, False, False) for clock in range(5)]
    results = await post(api, entries)
    assert [r["status"] for r in results] == [201, 201, 201, 201, 413]
    assert results[4]["error"] == "log_too_large"


async def test_private_flag_marks_the_job_private_before_its_chunk(
    api: httpx.AsyncClient, any_store: LogStore, job_id: str
) -> None:
    await post(api, [Entry(f"{job_id}-p", 0, b"secret build\n", False, True)])
    await post(api, [Entry(f"{job_id}-o", 0, b"open build\n", False, False)])
    assert (await any_store.job_protection(f"{job_id}-p")).private
    assert not (await any_store.job_protection(f"{job_id}-o")).private


async def test_a_malformed_body_is_refused_whole_and_stores_nothing(
    api: httpx.AsyncClient, job_id: str
) -> None:
    good = encode_batch([Entry(job_id, 0, b"kept out\n", False, False)])
    for body in (b"", good[:-1], good + b"\x00", b"\x04" + good[1:], good * 1001):
        response = await api.post("/v1/chunks", content=body, headers=HEADERS)
        assert response.status_code == 422, (body[:20], response.text)
        assert response.json()["error"] == "invalid_batch"
    assert (await api.get(f"/v1/jobs/{job_id}")).status_code == 404

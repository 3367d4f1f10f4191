"""`PUT /v1/jobs/{job_id}/chunks/{clock}`: every status of the contract, and bad input leaves the
stored log exactly as it was. Runs on SQLite and on Cassandra."""

from __future__ import annotations

import random

import httpx
import pytest

from benchmarks.harness.corpus import corpus_files, split


async def stored(api: httpx.AsyncClient, job_id: str) -> tuple[bytes, dict[str, object]]:
    log = await api.get(f"/v1/jobs/{job_id}/log")
    meta = await api.get(f"/v1/jobs/{job_id}")
    assert log.status_code == 200
    assert meta.status_code == 200
    return log.content, meta.json()


async def test_created_then_identical_duplicate(api: httpx.AsyncClient, job_id: str) -> None:
    first = await api.put(f"/v1/jobs/{job_id}/chunks/0", content=b"hello\n")
    again = await api.put(f"/v1/jobs/{job_id}/chunks/0", content=b"hello\n")
    assert (first.status_code, first.json()["result"]) == (201, "created")
    assert (again.status_code, again.json()["result"]) == (200, "duplicate")


async def test_shuffled_chunks_with_duplicates_download_byte_identical(
    api: httpx.AsyncClient, job_id: str
) -> None:
    source = (corpus_files()[0].parent / "pikachu.sh.raw").read_bytes()[:4000]
    pieces = split(source, 97)
    order = list(range(len(pieces))) + random.Random(1).sample(range(len(pieces)), 10)
    random.Random(2).shuffle(order)
    for clock in order:
        final = "true" if clock == len(pieces) - 1 else "false"
        response = await api.put(f"/v1/jobs/{job_id}/chunks/{clock}?final={final}", content=pieces[clock])
        assert response.status_code in (200, 201)
    log = await api.get(f"/v1/jobs/{job_id}/log")
    assert log.content == source
    assert log.headers["log-complete"] == "true"
    assert log.headers["content-length"] == str(len(source))


BAD_IDS = ["a" * 129, "bad id", "bad%2Aid", "caf%C3%A9", "semi;colon", "%2E%2E", "%2E", "a%00b", "tab%09"]
BAD_CLOCKS = ["-1", "1.5", "x", "9223372036854775808", "99999999999999999999", "%2B1", "0x10", "1e3"]


@pytest.mark.parametrize("bad_id", BAD_IDS)
async def test_invalid_job_id_is_422_and_changes_nothing(api: httpx.AsyncClient, bad_id: str) -> None:
    response = await api.put(f"/v1/jobs/{bad_id}/chunks/0", content=b"x")
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_job_id"


@pytest.mark.parametrize("bad_clock", BAD_CLOCKS)
async def test_invalid_clock_is_422_and_changes_nothing(
    api: httpx.AsyncClient, job_id: str, bad_clock: str
) -> None:
    await api.put(f"/v1/jobs/{job_id}/chunks/0", content=b"good\n")
    response = await api.put(f"/v1/jobs/{job_id}/chunks/{bad_clock}", content=b"bad\n")
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_clock"
    log, meta = await stored(api, job_id)
    assert log == b"good\n"
    assert meta["chunks"] == 1


async def test_largest_clock_is_accepted(api: httpx.AsyncClient, job_id: str) -> None:
    response = await api.put(f"/v1/jobs/{job_id}/chunks/9223372036854775807", content=b"x")
    assert response.status_code == 201


async def test_chunk_over_the_limit_is_413_and_changes_nothing(api: httpx.AsyncClient, job_id: str) -> None:
    await api.put(f"/v1/jobs/{job_id}/chunks/0", content=b"good\n")
    response = await api.put(f"/v1/jobs/{job_id}/chunks/1", content=b"y" * 1025)
    assert response.status_code == 413
    assert response.json()["error"] == "chunk_too_large"

    async def unsized():  # no Content-Length: refused while reading
        for _ in range(5):
            yield b"z" * 300

    streamed = await api.put(f"/v1/jobs/{job_id}/chunks/1", content=unsized())
    assert streamed.status_code == 413
    exact = await api.put(f"/v1/jobs/{job_id}/chunks/2", content=b"w" * 1024)
    assert exact.status_code == 201
    log, meta = await stored(api, job_id)
    assert log == b"good\n"  # clock 1 is still missing, so the prefix ends at clock 0
    assert (meta["chunks"], meta["bytes"]) == (2, 5 + 1024)


async def test_log_over_the_limit_is_413_and_changes_nothing(api: httpx.AsyncClient, job_id: str) -> None:
    for clock in range(4):
        assert (await api.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=b"a" * 1000)).status_code == 201
    response = await api.put(f"/v1/jobs/{job_id}/chunks/4", content=b"b" * 97)
    assert response.status_code == 413
    assert response.json()["error"] == "log_too_large"
    log, meta = await stored(api, job_id)
    assert log == b"a" * 4000
    assert meta["chunks"] == 4
    fits = await api.put(f"/v1/jobs/{job_id}/chunks/4", content=b"b" * 96)
    assert fits.status_code == 201


async def test_conflicting_duplicate_is_409_and_first_bytes_kept(api: httpx.AsyncClient, job_id: str) -> None:
    await api.put(f"/v1/jobs/{job_id}/chunks/0", content=b"first\n")
    response = await api.put(f"/v1/jobs/{job_id}/chunks/0", content=b"second\n")
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    log, meta = await stored(api, job_id)
    assert log == b"first\n"
    assert meta["bytes"] == 6


async def test_chunk_after_the_final_one_is_409(api: httpx.AsyncClient, job_id: str) -> None:
    await api.put(f"/v1/jobs/{job_id}/chunks/0?final=true", content=b"done\n")
    response = await api.put(f"/v1/jobs/{job_id}/chunks/1", content=b"late\n")
    assert response.status_code == 409
    log, meta = await stored(api, job_id)
    assert log == b"done\n"
    assert meta["final_clock"] == 0


async def test_invalid_final_flag_is_422(api: httpx.AsyncClient, job_id: str) -> None:
    response = await api.put(f"/v1/jobs/{job_id}/chunks/0?final=maybe", content=b"x")
    assert response.status_code == 422
    assert (await api.get(f"/v1/jobs/{job_id}")).status_code == 404

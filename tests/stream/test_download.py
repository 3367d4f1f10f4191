"""`GET /v1/jobs/{job_id}` and `GET /v1/jobs/{job_id}/log` per the contract, on both backends."""

from __future__ import annotations

import httpx


async def put(api: httpx.AsyncClient, job_id: str, clock: int, data: bytes, final: bool = False) -> None:
    response = await api.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=data, params={"final": final})
    assert response.status_code == 201


async def test_unknown_job_is_404(api: httpx.AsyncClient, job_id: str) -> None:
    assert (await api.get(f"/v1/jobs/{job_id}")).status_code == 404
    response = await api.get(f"/v1/jobs/{job_id}/log")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_invalid_id_is_422_on_reads(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/jobs/bad%20id")).status_code == 422
    assert (await api.get("/v1/jobs/bad%20id/log")).status_code == 422


async def test_download_stops_at_the_first_missing_clock(api: httpx.AsyncClient, job_id: str) -> None:
    await put(api, job_id, 0, b"zero\n")
    await put(api, job_id, 1, b"one\n")
    await put(api, job_id, 3, b"three\n", final=True)
    log = await api.get(f"/v1/jobs/{job_id}/log")
    assert log.content == b"zero\none\n"
    assert log.headers["log-complete"] == "false"
    meta = (await api.get(f"/v1/jobs/{job_id}")).json()
    assert meta["state"] == "finished"
    assert meta["missing"] == [[2, 2]]
    assert (meta["chunks"], meta["bytes"], meta["final_clock"]) == (3, 15, 3)
    await put(api, job_id, 2, b"two\n")
    log = await api.get(f"/v1/jobs/{job_id}/log")
    assert log.content == b"zero\none\ntwo\nthree\n"
    assert log.headers["log-complete"] == "true"


async def test_running_job_is_incomplete(api: httpx.AsyncClient, job_id: str) -> None:
    await put(api, job_id, 0, b"building...\n")
    log = await api.get(f"/v1/jobs/{job_id}/log")
    assert log.content == b"building...\n"
    assert log.headers["log-complete"] == "false"
    assert (await api.get(f"/v1/jobs/{job_id}")).json()["state"] == "running"


async def test_health_ready_and_metrics(api: httpx.AsyncClient, job_id: str) -> None:
    await put(api, job_id, 0, b"x")
    assert (await api.get("/healthz")).status_code == 200
    assert (await api.get("/readyz")).json() == {"status": "ready"}
    metrics = (await api.get("/metrics")).text
    assert "logstore_ingest_chunks_total" in metrics
    assert "logstore_ingest_store_write_seconds_bucket" in metrics


async def fill(api: httpx.AsyncClient, job_id: str, pieces: list[bytes], final: bool = True) -> bytes:
    for clock, piece in enumerate(pieces):
        await put(api, job_id, clock, piece, final=final and clock == len(pieces) - 1)
    return b"".join(pieces)


PIECES = [b"alpha\n", b"", b"\xff\xfebinary\n", b"gamma gamma\n", b"d" * 50, b"end\n"]


async def test_byte_ranges_are_206_with_exact_bytes(api: httpx.AsyncClient, job_id: str) -> None:
    source = await fill(api, job_id, PIECES)
    size = len(source)
    cases = {
        "bytes=0-0": (0, 0),
        "bytes=0-5": (0, 5),
        "bytes=3-9": (3, 9),  # across the empty chunk and into the binary one
        "bytes=6-6": (6, 6),
        f"bytes=10-{size - 1}": (10, size - 1),
        "bytes=20-": (20, size - 1),
        "bytes=-7": (size - 7, size - 1),
        f"bytes=5-{size + 100}": (5, size - 1),  # the end is clipped
    }
    for header, (first, last) in cases.items():
        response = await api.get(f"/v1/jobs/{job_id}/log", headers={"Range": header})
        assert response.status_code == 206, header
        assert response.content == source[first : last + 1], header
        assert response.headers["content-range"] == f"bytes {first}-{last}/{size}", header


async def test_unsatisfiable_ranges_are_416(api: httpx.AsyncClient, job_id: str) -> None:
    source = await fill(api, job_id, PIECES)
    for header in (
        f"bytes={len(source)}-",
        f"bytes={len(source) + 5}-{len(source) + 9}",
        "bytes=9-3",
        "bytes=-0",
    ):
        response = await api.get(f"/v1/jobs/{job_id}/log", headers={"Range": header})
        assert response.status_code == 416, header
        assert response.headers["content-range"] == f"bytes */{len(source)}"


async def test_unusable_range_headers_get_the_whole_log(api: httpx.AsyncClient, job_id: str) -> None:
    source = await fill(api, job_id, PIECES)
    for header in ("bytes=0-1,4-5", "lines=1-2", "bytes=x-y"):
        response = await api.get(f"/v1/jobs/{job_id}/log", headers={"Range": header})
        assert response.status_code == 200, header
        assert response.content == source


async def test_progressive_reads_with_offset(api: httpx.AsyncClient, job_id: str) -> None:
    received = b""
    offset = 0
    for clock, piece in enumerate(PIECES):
        await put(api, job_id, clock, piece, final=clock == len(PIECES) - 1)
        response = await api.get(f"/v1/jobs/{job_id}/log", params={"offset": offset})
        assert response.status_code == 200
        received += response.content
        offset = int(response.headers["log-next-offset"])
        assert offset == len(received)
        complete = response.headers["log-complete"]
        assert complete == ("true" if clock == len(PIECES) - 1 else "false")
    assert received == b"".join(PIECES)
    assert (await api.get(f"/v1/jobs/{job_id}/log", params={"offset": offset})).content == b""
    assert (await api.get(f"/v1/jobs/{job_id}/log", params={"offset": offset + 1})).status_code == 416
    assert (await api.get(f"/v1/jobs/{job_id}/log", params={"offset": -1})).status_code == 416
    assert (await api.get(f"/v1/jobs/{job_id}/log", params={"offset": "x"})).status_code == 422


async def test_progressive_reads_stop_at_a_gap(api: httpx.AsyncClient, job_id: str) -> None:
    await put(api, job_id, 0, b"zero\n")
    await put(api, job_id, 2, b"two\n")
    first = await api.get(f"/v1/jobs/{job_id}/log", params={"offset": 0})
    assert first.content == b"zero\n"
    assert first.headers["log-next-offset"] == "5"
    await put(api, job_id, 1, b"one\n")
    second = await api.get(f"/v1/jobs/{job_id}/log", params={"offset": 5})
    assert second.content == b"one\ntwo\n"
    assert second.headers["log-next-offset"] == "13"

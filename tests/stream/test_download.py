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

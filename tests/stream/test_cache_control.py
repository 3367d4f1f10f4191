"""What a private or masked job's answers tell caches and onlookers, on SQLite and Cassandra: they
are `Cache-Control: private, no-store` (no proxy or CDN keeps them); a masked job's metadata has
no raw sizes (minus the masked log's length they would give the secrets' length); and no page
loads a third party's script (FastAPI's /docs and /redoc pages are off)."""

from __future__ import annotations

import httpx

from tests.stream.test_private_jobs import AS_ADMIN, AS_WRITER, private_job


async def test_a_private_jobs_answers_are_kept_by_no_shared_cache(
    secured: httpx.AsyncClient, job_id: str
) -> None:
    await private_job(secured, job_id)
    public_put = await secured.put(
        f"/v1/jobs/{job_id}-public/chunks/0", content=b"public\n", params={"final": True}, headers=AS_WRITER
    )
    assert public_put.status_code == 201
    for path in ("", "/log", "/times", "/search?q=log"):
        private = await secured.get(f"/v1/jobs/{job_id}{path}", headers=AS_ADMIN)
        assert private.status_code == 200, path
        assert private.headers["cache-control"] == "private, no-store", path
        public = await secured.get(f"/v1/jobs/{job_id}-public{path}")
        assert public.status_code == 200, path
        assert "cache-control" not in public.headers, path


async def test_a_masked_jobs_metadata_tells_no_secrets_length(
    app_client: httpx.AsyncClient, job_id: str
) -> None:
    await app_client.put(f"/v1/jobs/{job_id}/secrets", json={"secrets": ["s3cr3t-value"]})
    await app_client.put(
        f"/v1/jobs/{job_id}/chunks/0", content=b"token s3cr3t-value\n", params={"final": True}
    )
    meta = await app_client.get(f"/v1/jobs/{job_id}")
    assert (meta.json()["bytes"], meta.json()["contiguous_bytes"]) == (None, None)
    assert meta.json()["complete"] is True
    log = await app_client.get(f"/v1/jobs/{job_id}/log")
    assert (log.content, log.headers["cache-control"]) == (b"token ***\n", "private, no-store")


async def test_no_page_loads_a_script_from_elsewhere(app_client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        assert (await app_client.get(path)).status_code == 404, path
    assert (await app_client.get("/openapi.json")).json()["info"]["title"] == "logstore"

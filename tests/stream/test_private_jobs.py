"""Private jobs over HTTP, on SQLite and Cassandra: answered exactly like an unknown job without
credentials (404 on the status and the log, the viewer's page of a job not started yet);
readable with the admin or read token or a signed, unexpired URL of that job; hidden from
anonymous job lists; signed URLs minted by `POST /v1/jobs/{id}/signed-url`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from logstore import url_signing
from logstore.bus.memory import MemoryBus
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store import LogStore
from tests.stream.conftest import ADMIN, READ, SIGNING_KEY, WRITE

KEY = SIGNING_KEY.encode()
AS_WRITER = {"Authorization": f"Bearer {WRITE}"}
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}


async def private_job(api: httpx.AsyncClient, job_id: str, data: bytes = b"private log\n") -> None:
    url = f"/v1/jobs/{job_id}/chunks/0"
    response = await api.put(url, content=data, params={"final": True, "private": True}, headers=AS_WRITER)
    assert response.status_code == 201


def signed(job_id: str, expires_in: float = 600, for_job: str | None = None) -> str:
    return url_signing.signed_query(KEY, for_job or job_id, url_signing.expiry(expires_in))


def read_paths(job_id: str) -> list[str]:
    return [f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/log", f"/jobs/{job_id}"]


async def test_a_private_job_is_404_like_an_unknown_one_without_credentials(
    secured: httpx.AsyncClient, job_id: str
) -> None:
    await private_job(secured, job_id)
    for path, unknown in zip(read_paths(job_id), read_paths(f"{job_id}-unknown")[:2], strict=False):
        hidden = await secured.get(path)
        assert hidden.status_code == 404
        missing = await secured.get(unknown)
        assert hidden.json() == {
            **missing.json(),
            "message": missing.json()["message"].replace("-unknown", ""),
        }
    page, unknown_page = await secured.get(f"/jobs/{job_id}"), await secured.get(f"/jobs/{job_id}-unknown")
    assert (page.status_code, page.content) == (unknown_page.status_code, unknown_page.content)
    assert page.status_code == 200  # the page of a job not started yet
    wrong = {"Authorization": "Bearer not-a-token"}
    assert (await secured.get(f"/v1/jobs/{job_id}/log", headers=wrong)).status_code == 404
    assert (await secured.get(f"/v1/jobs/{job_id}/log", headers=AS_WRITER)).status_code == 404


async def test_the_admin_token_or_a_signed_url_reads_a_private_job(
    secured: httpx.AsyncClient, job_id: str
) -> None:
    await private_job(secured, job_id)
    assert (await secured.get(f"/v1/jobs/{job_id}/log", headers=AS_ADMIN)).content == b"private log\n"
    query = signed(job_id)
    for path in read_paths(job_id):
        assert (await secured.get(f"{path}?{query}")).status_code == 200, path
    assert (await secured.get(f"/v1/jobs/{job_id}/log?{query}")).content == b"private log\n"
    page = await secured.get(f"/jobs/{job_id}?{query}")
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_expired_forged_and_other_jobs_signatures_are_403(
    secured: httpx.AsyncClient, job_id: str
) -> None:
    await private_job(secured, job_id)
    expires = int(time.time()) + 600
    good = url_signing.signature(KEY, job_id, expires)
    forged = ("0" if good[0] != "0" else "1") + good[1:]
    refused = [
        signed(job_id, expires_in=-1),  # expired a second ago
        f"expires={expires}&signature={forged}",
        f"expires={expires + 1}&signature={good}",  # the expiry moved
        signed(job_id, for_job=f"{job_id}-other"),  # another job's signature
        f"expires={expires}&signature={url_signing.signature(b'another key of 16+ chars', job_id, expires)}",
        f"expires={expires}",
        f"signature={good}",
        f"expires=soon&signature={good}",
    ]
    for query in refused:
        for path in read_paths(job_id):
            assert (await secured.get(f"{path}?{query}")).status_code == 403, (path, query)
    # a bad signature is refused whatever the job: it says nothing about which jobs exist
    assert (await secured.get(f"/v1/jobs/{job_id}-nope?{refused[1]}")).status_code == 403


async def test_public_jobs_stay_open_and_only_token_holders_list_private_ones(
    secured: httpx.AsyncClient, job_id: str
) -> None:
    await private_job(secured, f"{job_id}-private")
    public = await secured.put(f"/v1/jobs/{job_id}-public/chunks/0", content=b"hi\n", headers=AS_WRITER)
    assert public.status_code == 201
    assert (await secured.get(f"/v1/jobs/{job_id}-public/log")).content == b"hi\n"
    anonymous = {job["job_id"] for job in (await secured.get("/v1/jobs?limit=500")).json()["jobs"]}
    assert f"{job_id}-public" in anonymous
    assert f"{job_id}-private" not in anonymous
    admin = {
        job["job_id"] for job in (await secured.get("/v1/jobs?limit=500", headers=AS_ADMIN)).json()["jobs"]
    }
    assert {f"{job_id}-public", f"{job_id}-private"} <= admin


async def test_the_settings_endpoint_makes_a_job_private_before_its_first_chunk(
    secured: httpx.AsyncClient, job_id: str
) -> None:
    response = await secured.put(f"/v1/jobs/{job_id}/settings", json={"private": True}, headers=AS_WRITER)
    assert response.json() == {"job_id": job_id, "private": True}
    assert (
        await secured.put(f"/v1/jobs/{job_id}/chunks/0", content=b"x", headers=AS_WRITER)
    ).status_code == 201
    assert (await secured.get(f"/v1/jobs/{job_id}/log")).status_code == 404
    # a later chunk without ?private=true does not make it public again
    assert (
        await secured.put(f"/v1/jobs/{job_id}/chunks/1", content=b"y", headers=AS_WRITER)
    ).status_code == 201
    assert (await secured.get(f"/v1/jobs/{job_id}")).status_code == 404


async def test_signed_urls_are_minted_for_token_holders(secured: httpx.AsyncClient, job_id: str) -> None:
    await private_job(secured, job_id)
    mint = f"/v1/jobs/{job_id}/signed-url"
    assert (await secured.post(mint)).status_code == 401
    assert (await secured.post(mint, headers=AS_WRITER)).status_code == 403
    assert (await secured.post(mint, params={"expires_in": 40 * 86_400}, headers=AS_ADMIN)).status_code == 422
    before = time.time()
    minted = (await secured.post(mint, params={"expires_in": 120}, headers=AS_ADMIN)).json()
    assert int(before) + 120 <= minted["expires"] <= int(time.time()) + 120  # minted meanwhile
    assert minted["viewer_url"].startswith(f"http://logstore/jobs/{job_id}?expires=")
    assert minted["tail_url"].startswith(f"ws://logstore/v1/jobs/{job_id}/tail?expires=")
    log = await secured.get(minted["log_url"].removeprefix("http://logstore"))
    assert log.content == b"private log\n"


@pytest.fixture
async def read_token_app(any_store: LogStore) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings({"store": "sqlite:///unused", "read_token": READ})  # no signing key
    app = build_app(settings, any_store, MemoryBus())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://logstore"
    ) as client:
        yield client


async def test_with_a_read_token_configured_every_read_needs_it(
    read_token_app: httpx.AsyncClient, job_id: str
) -> None:
    await private_job(read_token_app, job_id)
    assert (await read_token_app.get(f"/v1/jobs/{job_id}/log")).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await read_token_app.get(f"/v1/jobs/{job_id}/log", headers=wrong)).status_code == 403
    as_reader = {"Authorization": f"Bearer {READ}"}
    assert (await read_token_app.get(f"/v1/jobs/{job_id}/log", headers=as_reader)).content == b"private log\n"
    assert (await read_token_app.get(f"/v1/jobs/{job_id}/log?access_token={READ}")).status_code == 200
    # without a signing key no signature is valid, and none can be minted
    assert (await read_token_app.get(f"/v1/jobs/{job_id}/log?{signed(job_id)}")).status_code == 403
    minting = await read_token_app.post(f"/v1/jobs/{job_id}/signed-url", headers=as_reader)
    assert minting.status_code == 501

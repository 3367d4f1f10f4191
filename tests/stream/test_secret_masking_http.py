"""Secrets over HTTP, on SQLite and Cassandra: registered with the write token, shown as `***` by
downloads, ranges and offsets (of the masked log), before and after compaction; stored raw; bad
registrations refused with 422 and nothing stored."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from compactor.archive_job import ArchiveJob, Outcome
from logstore.config import CompactSettings
from logstore.store import JobProtection, LogStore
from stream.masking import mask

SECRET = "hunter2-TOKEN-9f8e"
RAW = [b"cloning...\nexport TOKEN=hunter2-TO", b"KEN-9f8e\nusing hunter2-TOKEN-9f8e again\n", b"done\n"]
LOG = b"".join(RAW)
MASKED = mask(LOG, [SECRET.encode()])


async def put(api: httpx.AsyncClient, job_id: str, clock: int, data: bytes, final: bool = False) -> None:
    response = await api.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=data, params={"final": final})
    assert response.status_code == 201, response.text


async def register(api: httpx.AsyncClient, job_id: str, *secrets: str) -> httpx.Response:
    return await api.put(f"/v1/jobs/{job_id}/secrets", json={"secrets": list(secrets)})


async def test_a_secret_split_across_out_of_order_chunks_is_masked_on_every_download(
    app_client: httpx.AsyncClient, any_store: LogStore, job_id: str
) -> None:
    response = await register(app_client, job_id, SECRET)
    assert response.json() == {"job_id": job_id, "secrets": 1}
    assert SECRET not in response.text
    for clock in (2, 1, 0):  # the secret is split between clocks 1 and 0, which come last
        await put(app_client, job_id, clock, RAW[clock], final=clock == 2)
    assert MASKED == b"cloning...\nexport TOKEN=***\nusing *** again\n" + b"done\n"
    log = await app_client.get(f"/v1/jobs/{job_id}/log")
    assert log.content == MASKED
    assert log.headers["log-next-offset"] == str(len(MASKED))
    assert log.headers["content-length"] == str(len(MASKED))
    ranged = await app_client.get(f"/v1/jobs/{job_id}/log", headers={"Range": "bytes=20-40"})
    assert (ranged.status_code, ranged.content) == (206, MASKED[20:41])
    assert ranged.headers["content-range"] == f"bytes 20-40/{len(MASKED)}"
    assert (await app_client.get(f"/v1/jobs/{job_id}/log", params={"offset": 25})).content == MASKED[25:]
    too_far = await app_client.get(f"/v1/jobs/{job_id}/log", headers={"Range": f"bytes={len(MASKED)}-"})
    assert too_far.status_code == 416
    assert b"".join([d async for _, d in any_store.read_chunks(job_id)]) == LOG  # stored raw


async def test_a_running_job_holds_back_the_start_of_a_secret(
    app_client: httpx.AsyncClient, job_id: str
) -> None:
    await register(app_client, job_id, SECRET)
    await put(app_client, job_id, 0, RAW[0])
    first = await app_client.get(f"/v1/jobs/{job_id}/log")
    shown = RAW[0][: -(len(SECRET) - 1)]  # the last (longest secret - 1) bytes are held back
    assert shown == b"cloning...\nexport"
    assert first.content == shown
    assert first.headers["log-next-offset"] == str(len(shown))
    assert first.headers["log-complete"] == "false"
    await put(app_client, job_id, 1, RAW[1])
    await put(app_client, job_id, 2, RAW[2], final=True)
    rest = await app_client.get(f"/v1/jobs/{job_id}/log", params={"offset": len(shown)})
    assert first.content + rest.content == MASKED  # a progressive reader's pieces fit together


async def test_a_compacted_log_is_masked_never_passed_through_and_has_its_own_etag(
    app_client: httpx.AsyncClient, any_store: LogStore, job_id: str
) -> None:
    for clock, piece in enumerate(RAW):
        await put(app_client, job_id, clock, piece, final=clock == 2)
    settings = CompactSettings(segment_bytes=1024, grace_s=0.1)
    assert await ArchiveJob(any_store, settings, "me").run(job_id) is Outcome.COMPACTED
    plain = await app_client.get(f"/v1/jobs/{job_id}/log", headers={"Accept-Encoding": "identity"})
    assert plain.content == LOG
    assert plain.headers["etag"] == f'"{hashlib.sha256(LOG).hexdigest()}"'
    assert (await register(app_client, job_id, SECRET)).status_code == 200  # after the job: still masked
    masked = await app_client.get(f"/v1/jobs/{job_id}/log", headers={"Accept-Encoding": "zstd"})
    assert masked.content == MASKED
    assert "content-encoding" not in masked.headers
    assert masked.headers["etag"] == f'"masked-{hashlib.sha256(MASKED).hexdigest()}"'
    again = await app_client.get(f"/v1/jobs/{job_id}/log", headers={"If-None-Match": masked.headers["etag"]})
    assert again.status_code == 304
    stale = await app_client.get(f"/v1/jobs/{job_id}/log", headers={"If-None-Match": plain.headers["etag"]})
    assert (stale.status_code, stale.content) == (200, MASKED)
    archive = await any_store.archive_info(job_id)
    assert archive is not None
    assert archive.sha256 == hashlib.sha256(LOG).hexdigest()  # the archive keeps the raw bytes


BAD_BODIES = [
    b"not json",
    b'["a list"]',
    json.dumps({"secrets": []}).encode(),
    json.dumps({"secrets": [""]}).encode(),
    json.dumps({"secrets": [7]}).encode(),
    json.dumps({"secrets": ["x" * 513]}).encode(),
    json.dumps({"secrets": [f"s{i}" for i in range(101)]}).encode(),
    json.dumps({"secrets": ["fine"], "other": 1}).encode(),
]


@pytest.mark.parametrize("body", BAD_BODIES)
async def test_bad_secret_registrations_are_422_and_store_nothing(
    app_client: httpx.AsyncClient, any_store: LogStore, job_id: str, body: bytes
) -> None:
    response = await app_client.put(f"/v1/jobs/{job_id}/secrets", content=body)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_secrets"
    assert "xxxxxxxx" not in response.text  # the refused value is never echoed
    assert await any_store.job_protection(job_id) == JobProtection()


async def test_more_than_a_hundred_secrets_per_job_are_refused_as_a_whole(
    app_client: httpx.AsyncClient, any_store: LogStore, job_id: str
) -> None:
    assert (await register(app_client, job_id, *(f"a{i}" for i in range(60)))).json()["secrets"] == 60
    assert (await register(app_client, job_id, *(f"a{i}" for i in range(30)))).json()["secrets"] == 60
    refused = await register(app_client, job_id, *(f"b{i}" for i in range(41)))
    assert refused.status_code == 422
    assert len((await any_store.job_protection(job_id)).secrets) == 60


async def test_secrets_and_settings_need_the_write_token(
    any_store: LogStore, job_id: str, secured: httpx.AsyncClient
) -> None:
    url = f"/v1/jobs/{job_id}/secrets"
    assert (await secured.put(url, json={"secrets": ["s3cr3t"]})).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await secured.put(url, json={"secrets": ["s3cr3t"]}, headers=wrong)).status_code == 403
    settings_url = f"/v1/jobs/{job_id}/settings"
    assert (await secured.put(settings_url, json={"private": True}, headers=wrong)).status_code == 403
    assert await any_store.job_protection(job_id) == JobProtection()


@pytest.mark.parametrize(
    "body", [b"{}", b'{"private": false}', b'{"private": "yes"}', b'{"private": true, "x": 1}', b"nope"]
)
async def test_bad_settings_are_422_and_change_nothing(
    app_client: httpx.AsyncClient, any_store: LogStore, job_id: str, body: bytes
) -> None:
    response = await app_client.put(f"/v1/jobs/{job_id}/settings", content=body)
    assert (response.status_code, response.json()["error"]) == (422, "invalid_settings")
    assert await any_store.job_protection(job_id) == JobProtection()

"""No secret in the service's own logs: a real `logstore serve` at DEBUG level gets requests
carrying every kind of secret (tokens right and wrong, the signing key's signatures, registered
secret values in chunks, tails with tokens and signatures in the URL) and requests that make it
log warnings; its JSON log output must contain none of them. A `logstore ingest` that cannot
reach RabbitMQ must not print the broker password either."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from benchmarks.harness.processes import free_port, run_cli, serving
from logstore import url_signing

WRITE, READ, ADMIN = "w-7c1f0e2d9a8b", "r-5e4d3c2b1a09", "a-0f9e8d7c6b5a"
KEY = "k-signing-1f2e3d4c5b6a7988"
SECRET_VALUE = "sv-Xy9!secret#value"
WRONG = "wrong-b2a1c3d4e5f6"
AMQP_PASSWORD = "pw-9d8c7b6a5e4f"


async def exercise(base: str, job_id: str) -> list[str]:
    """Requests carrying the secrets; returns the signatures used (secrets as well)."""
    expires = url_signing.expiry(300)
    good = url_signing.signature(KEY.encode(), job_id, expires)
    forged = url_signing.signature(b"not the key at all!", job_id, expires)
    as_writer = {"Authorization": f"Bearer {WRITE}"}
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        assert (
            await client.put(
                f"/v1/jobs/{job_id}/secrets", json={"secrets": [SECRET_VALUE]}, headers=as_writer
            )
        ).status_code == 200
        bad_secrets = {"secrets": [SECRET_VALUE, ""]}
        assert (
            await client.put(f"/v1/jobs/{job_id}/secrets", json=bad_secrets, headers=as_writer)
        ).status_code == 422
        line = f"export VALUE={SECRET_VALUE}\n".encode()
        chunk = f"/v1/jobs/{job_id}/chunks/0"
        assert (
            await client.put(chunk, content=line, params={"private": "true"}, headers=as_writer)
        ).status_code == 201
        conflict = await client.put(chunk, content=line + b"other", headers=as_writer)  # logged: refused
        assert conflict.status_code == 409
        final = f"/v1/jobs/{job_id}/chunks/1"
        assert (
            await client.put(final, content=b"end\n", params={"final": "true"}, headers=as_writer)
        ).status_code == 201
        assert (
            await client.put(chunk, content=b"x", headers={"Authorization": f"Bearer {WRONG}"})
        ).status_code == 403
        log = f"/v1/jobs/{job_id}/log"
        assert (await client.get(log, params={"expires": expires, "signature": good})).status_code == 200
        assert (await client.get(log, params={"expires": expires, "signature": forged})).status_code == 403
        assert (await client.get(log, params={"access_token": READ})).status_code == 200
        assert (await client.get(log, params={"access_token": WRONG})).status_code == 403
        assert (await client.get(log, headers={"Authorization": f"Bearer {ADMIN}"})).status_code == 200
        minted = await client.post(
            f"/v1/jobs/{job_id}/signed-url", headers={"Authorization": f"Bearer {READ}"}
        )
        minted_signature = minted.json()["log_url"].rsplit("signature=", 1)[1]
        assert (
            await client.delete(f"/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {WRONG}"})
        ).status_code == 403
    socket_base = base.replace("http://", "ws://")
    for query in (f"access_token={READ}", f"expires={expires}&signature={good}", f"access_token={WRONG}"):
        async with connect(f"{socket_base}/v1/jobs/{job_id}/tail?from_clock=0&{query}") as socket:
            with contextlib.suppress(ConnectionClosed):  # the wrong token is closed with 4403
                async for message in socket:
                    if isinstance(message, str) and json.loads(message)["type"] == "end":
                        break
    return [good, forged, minted_signature]


def served_log(directory: Path) -> str:
    """The one log file `serving` wrote into `directory`."""
    (log_file,) = directory.glob("serve-*.log")
    return log_file.read_text()


async def test_the_service_logs_no_secret(tmp_path: Path, job_id: str) -> None:
    flags = [
        "--write-token", WRITE, "--read-token", READ, "--admin-token", ADMIN,
        "--url-signing-key", KEY, "--log-level", "DEBUG",
    ]  # fmt: skip
    with serving(f"sqlite:///{tmp_path}/db.sqlite", tmp_path, *flags) as base:
        signatures = await exercise(base, job_id)
    # the server has exited (serving waits for it): every line it wrote is in the file
    text = served_log(tmp_path)
    assert '"msg": "serving"' in text  # the log was captured
    assert "chunk refused" in text  # and the refusals were logged
    for secret in (WRITE, READ, ADMIN, KEY, SECRET_VALUE, WRONG, *signatures):
        assert secret not in text, secret


def test_an_unreachable_broker_is_reported_without_its_password(tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    bus = f"amqp://logstore:{AMQP_PASSWORD}@127.0.0.1:{port}/"
    done = run_cli(
        ["ingest", "--store", f"sqlite:///{tmp_path}/db.sqlite", "--bus", bus, "--log-level", "DEBUG"],
        timeout=60,
    )
    output = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 3, output
    assert "cannot be reached" in output
    assert AMQP_PASSWORD not in output

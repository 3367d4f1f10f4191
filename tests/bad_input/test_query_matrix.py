"""Every query parameter of every route, sent every value of tests/bad_input/query_values.py
(Unicode digits, huge numbers, empty, bare and repeated parameters, invalid UTF-8): never a 5xx.

On the all-in-one ASGI app (SQLite, a write and an admin token, a URL signing key), where each
route is one test reading a plain job and a job with a registered secret; then a subset through
a real `logstore serve`, HTTP and the websocket tail."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from benchmarks.harness.processes import serving
from logstore.bus.memory import MemoryBus
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store.sqlite import SQLiteStore
from tests.bad_input.query_values import VALUES, Operation, operations, queries, self_read_params

WRITE, ADMIN = "query-matrix-write", "query-matrix-admin"
KEY = "query-matrix-signing-key"
SETTINGS = {"write_token": WRITE, "admin_token": ADMIN, "url_signing_key": KEY, "rate_limit": 0}
LOG = [b"first line\n", b"a secret hunter2 line\n", b"last line\n"]
_UNUSED = Path("/nonexistent")
OPERATIONS = operations(build_app(Settings({"store": "sqlite:///unused"}), SQLiteStore(_UNUSED), MemoryBus()))


def token_for(method: str, path: str) -> str | None:
    if method in ("PUT", "POST") and not path.endswith("/signed-url"):
        return WRITE
    return ADMIN if method != "GET" else None  # reads stay open: no read token is configured


def fill(path: str, job_id: str) -> str:
    return path.replace("{job_id}", job_id).replace("{clock}", "3").replace("{name}", "viewer.js")


@pytest.fixture(scope="module")
async def app_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    store = SQLiteStore(tmp_path_factory.mktemp("query-matrix") / "db.sqlite")
    app = build_app(Settings({"store": "sqlite:///unused", **SETTINGS}), store, MemoryBus())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://logstore") as client:
        yield client
    await store.close()


async def put_jobs(client: httpx.AsyncClient, prefix: str) -> list[str]:
    """A finished plain job and a finished job with a registered secret."""
    auth = {"Authorization": f"Bearer {WRITE}"}
    plain, masked = f"{prefix}-plain", f"{prefix}-masked"
    secret = await client.put(f"/v1/jobs/{masked}/secrets", json={"secrets": ["hunter2"]}, headers=auth)
    assert secret.status_code == 200
    for job in (plain, masked):
        for clock, piece in enumerate(LOG):
            final = str(clock == len(LOG) - 1).lower()
            url = f"/v1/jobs/{job}/chunks/{clock}?final={final}"
            assert (await client.put(url, content=piece, headers=auth)).is_success
    return [plain, masked]


def test_the_matrix_knows_every_route_and_the_hand_read_parameters() -> None:
    found = {str(operation) for operation in OPERATIONS}
    assert {"GET /v1/jobs/{job_id}/search", "WS /v1/jobs/{job_id}/tail", "POST /v1/chunks"} <= found
    assert {"access_token", "expires", "signature", "from_clock"} <= self_read_params()
    search = next(op for op in OPERATIONS if str(op) == "GET /v1/jobs/{job_id}/search")
    assert {"q", "cursor", "limit", "regex", "case", "expires"} <= set(search.params)


HTTP_OPERATIONS = [operation for operation in OPERATIONS if operation.method != "WS"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("operation", HTTP_OPERATIONS, ids=str)
async def test_no_query_gets_a_server_error(app_client: httpx.AsyncClient, operation: Operation) -> None:
    jobs = await put_jobs(app_client, f"qm-{uuid.uuid4().hex[:12]}")
    token = token_for(operation.method, operation.path)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    failures = []
    # a route without a job in its path gets the same request whichever job: it is sent once
    targets = jobs if "{job_id}" in operation.path else jobs[:1]
    for name, query in queries(operation):
        for job in targets:
            # a write or delete gets a job of its own: ?private=true or a DELETE must not change the
            # jobs the reads look at
            target = job if operation.method == "GET" else f"{job}-{uuid.uuid4().hex[:8]}"
            url = f"{fill(operation.path, target)}?{query}"
            response = await app_client.request(operation.method, url, headers=headers, content=b"x")
            if response.status_code >= 500:
                failures.append((name, job.rsplit("-", 1)[1], response.status_code, response.text[:200]))
    assert not failures, failures[:20]


# Through a real process: the values that broke something once, and the shapes (huge, repeated,
# invalid UTF-8) a server in front of the app might treat differently. URLs stay under uvicorn's
# line limit.
SUBSET = [(shown, encoded) for shown, encoded in VALUES if len(encoded) < 6000]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("query-matrix-serve")
    flags = ("--write-token", WRITE, "--admin-token", ADMIN, "--url-signing-key", KEY, "--rate-limit", "0")
    with serving(f"sqlite:///{workdir}/db.sqlite", workdir, *flags) as base:
        yield base


LIVE_ROUTES = [
    "GET /v1/jobs/{job_id}/search",
    "GET /v1/jobs/{job_id}/log",
    "GET /v1/jobs",
    "GET /jobs/{job_id}",
    "POST /v1/jobs/{job_id}/signed-url",
]


@pytest.mark.timeout(600)
async def test_a_running_server_answers_no_query_with_a_server_error(server: str) -> None:
    failures = []
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        jobs = await put_jobs(client, f"qm-{uuid.uuid4().hex[:12]}")
        for operation in (op for op in OPERATIONS if str(op) in LIVE_ROUTES):
            token = token_for(operation.method, operation.path)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            for param in operation.params:
                for shown, encoded in SUBSET:
                    for query in (f"q=line&{param}={encoded}", f"q=line&{param}=1&{param}={encoded}"):
                        if param == "expires":
                            query += "&signature=" + "0" * 64
                        url = f"{fill(operation.path, jobs[1])}?{query}"
                        response = await client.request(operation.method, url, headers=headers)
                        if response.status_code >= 500:
                            failures.append((str(operation), param, shown, response.status_code))
    assert not failures, failures[:20]


async def tail_answer(url: str) -> int:
    """The HTTP status of a refused handshake, or the close code of an accepted tail."""
    try:
        async with connect(url, open_timeout=30) as socket:
            try:
                while True:
                    await socket.recv()
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else 1006
    except InvalidStatus as refused:
        return refused.response.status_code


@pytest.mark.timeout(600)
async def test_no_tail_query_gets_an_internal_error(server: str) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        jobs = await put_jobs(client, f"qm-{uuid.uuid4().hex[:12]}")
    tail = next(op for op in OPERATIONS if op.method == "WS")
    base = "ws" + server[len("http") :] + fill(tail.path, jobs[1])
    failures = []
    for param in tail.params:
        for shown, encoded in SUBSET:
            query = f"{param}={encoded}" + ("&signature=" + "0" * 64 if param == "expires" else "")
            answer = await tail_answer(f"{base}?{query}")
            if (answer >= 500 and answer < 600) or answer in (1006, 1011):
                failures.append((param, shown, answer))
    assert not failures, failures[:20]


@pytest.mark.parametrize(
    "declared", [b"\xb2", b"9" * 5000, b"\xd9\xa1"], ids=["superscript", "huge", "arabic"]
)
async def test_a_content_length_int_cannot_read_is_no_server_error(
    app_client: httpx.AsyncClient, declared: bytes
) -> None:
    auth = {"Authorization": f"Bearer {WRITE}"}
    for method, path in (("PUT", "/v1/jobs/qm-cl/chunks/0"), ("POST", "/v1/chunks")):
        request = app_client.build_request(method, path, content=b"x", headers=auth)
        request.headers["Content-Length"] = declared.decode("latin-1")
        assert (await app_client.send(request)).status_code < 500

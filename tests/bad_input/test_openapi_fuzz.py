"""Schemathesis against the service's own OpenAPI schema: generated requests of every shape for
every operation, on the all-in-one app (SQLite store, tokens configured). Whatever it sends, the
answer is never a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from logstore.batch_body import MEDIA_TYPE as BATCH_MEDIA_TYPE
from logstore.bus.memory import MemoryBus
from logstore.config import Settings
from logstore.roles import build_app
from logstore.store.sqlite import SQLiteStore

DB = Path(__file__).resolve().parents[2] / "test-artifacts" / "openapi-fuzz.db"
DB.parent.mkdir(exist_ok=True)
DB.unlink(missing_ok=True)
APP = build_app(
    Settings({"store": f"sqlite:///{DB}", "max_chunk_bytes": 4096, "max_log_bytes": 65536}),
    SQLiteStore(DB),
    MemoryBus(),
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# the batch body (POST /v1/chunks) is opaque bytes to the generator: any bytes, framed or not
schemathesis.serializer.alias(BATCH_MEDIA_TYPE, "application/octet-stream")


@schema.parametrize()
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.timeout(600)
def test_no_request_gets_a_server_error(case: schemathesis.Case[Any]) -> None:
    response = case.call()
    assert response.status_code < 500, (case.as_curl_command(), response.status_code, response.text[:500])
    case.validate_response(response, checks=[not_a_server_error])

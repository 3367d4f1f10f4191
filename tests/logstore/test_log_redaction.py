"""No secret in a log line: configured secrets and credential-shaped values are redacted from
every line the JSON formatter writes, exceptions included."""

from __future__ import annotations

import json
import logging
import sys

from logstore.logs import JsonFormatter, Redactor, url_password

TOKEN = 'tok-"quoted\\and-escaped'  # JSON escapes it inside a line: both forms must go


def line_of(message: str, *args: object, exc: bool = False, secrets: tuple[str, ...] = ()) -> str:
    record = logging.makeLogRecord(
        {"name": "uvicorn.error", "levelname": "ERROR", "msg": message, "args": args}
    )
    if exc:
        try:
            raise RuntimeError(f"failed with {args}")
        except RuntimeError:
            record.exc_info = sys.exc_info()
    return JsonFormatter("serve", Redactor(secrets)).format(record)


def test_configured_secrets_are_redacted_also_inside_exceptions() -> None:
    line = line_of("auth header %s", TOKEN, exc=True, secrets=(TOKEN,))
    assert "quoted" not in line
    entry = json.loads(line)
    assert entry["msg"] == "auth header <redacted>"
    assert "<redacted>" in entry["exc"]


def test_credential_shaped_values_are_redacted() -> None:
    access = '127.0.0.1 - "GET /v1/jobs/j/log?expires=1700000000&signature=ab12cd34ef HTTP/1.1" 200'
    line = line_of(access)
    assert "ab12cd34ef" not in line
    assert "signature=<redacted>" in line
    assert "expires=1700000000" in line  # not a secret, kept for debugging
    assert "s3cret" not in line_of("GET /v1/jobs/j/tail?from_clock=0&access_token=s3cret")
    assert "abc.def" not in line_of("Authorization: Bearer abc.def")
    amqp = line_of("cannot reach amqp://logstore:hunter2@rabbit:5672/ci")
    assert "hunter2" not in amqp
    assert "amqp://logstore:<redacted>@rabbit:5672/ci" in amqp
    assert "http://127.0.0.1:8080/v1/jobs" in line_of("listening on http://127.0.0.1:8080/v1/jobs")


def test_the_broker_password_is_found_in_the_url() -> None:
    assert url_password("amqp://user:p%40ss@host:5672/") == "p%40ss"
    assert url_password("memory://") is None

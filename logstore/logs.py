"""JSON-lines logging. Pass `extra={"job_id": ...}` and the id appears as its own field.

No secret reaches a log line: every line, exceptions included, passes the `Redactor` last. It
removes the configured secrets (tokens, URL signing key, the broker password) wherever they
appear, and anything shaped like a credential: `signature=`, `access_token=`, `token=`,
`password=` values in query strings, `Bearer ...` values, and the password of `scheme://user:pass@`
URLs. Job secret values are never logged in the first place (they are not in any message).

A line written while an HTTP request or websocket is handled carries the client's address as
`client` (behind a trusted proxy, the forwarded one: logstore/web/forwarded.py).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from contextvars import ContextVar
from urllib.parse import urlsplit

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
REDACTED = "<redacted>"
CLIENT: ContextVar[str | None] = ContextVar("logstore_client", default=None)
_SHAPES = [
    (re.compile(r"(?i)\b(signature|access_token|token|password|secret|key)=[^&\s\"'\\]+"), rf"\1={REDACTED}"),
    (re.compile(r"(?i)\bbearer\s+[^\s\"',\\]+"), f"Bearer {REDACTED}"),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s\"']*):[^@/\s\"']*@"), rf"\1:{REDACTED}@"),
]


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {value for value in secrets if value}
        # as written or as repr() shows it (exception messages), then as json.dumps escapes that
        written = values | {repr(value)[1:-1] for value in values}
        forms = written | {json.dumps(value)[1:-1] for value in written}
        self._known = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._known:
            text = text.replace(value, REDACTED)
        for pattern, replacement in _SHAPES:
            text = pattern.sub(replacement, text)
        return text


def url_password(url: str) -> str | None:
    """The password in `scheme://user:password@host/...`, to redact it wherever it turns up."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


class JsonFormatter(logging.Formatter):
    def __init__(self, process_role: str, redact: Redactor | None = None) -> None:
        super().__init__()
        self.role = process_role
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "role": self.role,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        client = CLIENT.get()
        if client is not None:
            entry["client"] = client
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, default=str))


def configure_logging(level: str, role: str, secrets: Iterable[str] = ()) -> None:
    """JSON lines on stderr; `secrets` never appear in them."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(role, Redactor(secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.Formatter.converter = time.gmtime
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("cassandra").setLevel(logging.WARNING)

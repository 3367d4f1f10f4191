"""The rules for a job's secret values, shared by every way of registering them.

Secrets are UTF-8 strings of 1..MAX_SECRET_BYTES bytes, at most MAX_SECRETS per job. Messages
never repeat a value: they name its position only.
"""

from __future__ import annotations

import json

from logstore.errors import InvalidSecrets

MAX_SECRETS = 100  # per job; bounds the masking pattern
MAX_SECRET_BYTES = 512  # per value; bounds what a masker holds back (longest - 1 bytes)
MAX_BODY_BYTES = 256 * 1024  # a request registering secrets, JSON and all


def parse_secrets(body: bytes) -> list[bytes]:
    """`{"secrets": ["...", ...]}` -> the distinct values as bytes, or InvalidSecrets."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidSecrets('the body must be JSON: {"secrets": ["value", ...]}') from exc
    if not isinstance(document, dict) or set(document) != {"secrets"}:
        raise InvalidSecrets('the body must be {"secrets": ["value", ...]} and nothing else')
    values = document["secrets"]
    if not isinstance(values, list) or not values:
        raise InvalidSecrets("secrets must be a non-empty list of strings")
    if len(values) > MAX_SECRETS:
        raise InvalidSecrets(f"at most {MAX_SECRETS} secrets per job")
    found: set[bytes] = set()
    for position, value in enumerate(values):
        if not isinstance(value, str):
            raise InvalidSecrets(f"secret #{position} is not a string")
        encoded = value.encode("utf-8", errors="surrogatepass")
        if not 1 <= len(encoded) <= MAX_SECRET_BYTES:
            raise InvalidSecrets(f"secret #{position} must be 1..{MAX_SECRET_BYTES} bytes of UTF-8")
        found.add(encoded)
    return sorted(found)


def check_total(registered: int, adding: int) -> None:
    if registered + adding > MAX_SECRETS:
        raise InvalidSecrets(f"at most {MAX_SECRETS} secrets per job ({registered} registered already)")

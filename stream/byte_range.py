"""Parse an HTTP `Range: bytes=...` header against a log of known length (single ranges only)."""

from __future__ import annotations

import re

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class Unsatisfiable(Exception):
    pass


def parse_range(header: str | None, length: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single range, or None to serve the whole log
    (no header, or a form we do not serve: several ranges). Raises Unsatisfiable (416)."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if not match:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # suffix: the last N bytes
        suffix = int(last_text)
        if suffix == 0 or length == 0:
            raise Unsatisfiable(header)
        return max(0, length - suffix), length - 1
    first = int(first_text)
    last = int(last_text) if last_text else length - 1
    if first >= length or last < first:
        raise Unsatisfiable(header)
    return first, min(last, length - 1)

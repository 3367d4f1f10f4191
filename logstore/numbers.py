"""Decimal numbers from untrusted text (query parameters, headers, cursors).

`str.isdigit()` is true for digits `int()` cannot read (`"²"`, `"①"`) and `int()` refuses more
than 4,300 digits, so the usual `text.isdigit() and int(text)` raises on input a client chose:
an unhandled ValueError, a 500. `decimal` checks what `int` needs before calling it.
"""

from __future__ import annotations


def decimal(text: str, max_digits: int) -> int | None:
    """The value of `text` when it is 1..max_digits ASCII digits (no sign, no spaces), else None."""
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)

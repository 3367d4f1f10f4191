"""The query half of the bad-input matrix as data: the app's routes and query parameters, read from
its own route table (so a new route or parameter is covered without touching this file), and the
values every parameter is sent.

Parameters a handler reads from `request.query_params` itself are not in the route table; they are
found in the source (`query_params.get("name")`), so they cannot be forgotten either."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Route

from tests.routes import served_routes

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("logstore", "ingest", "stream", "compactor")

# Percent-encoded as they are (not re-encoded): invalid UTF-8, bare or bad escapes, an encoded NUL.
RAW = ["%FF", "%C0%AF", "%", "%zz", "%00", "%E2%80%AE", "+"]
# Sent percent-encoded.
TEXT = [
    "",
    "0",
    "1",
    "-1",
    "+1",
    " 1",
    "1 ",
    "0x10",
    "1e3",
    "1e309",
    "1.5",
    "-0",
    "nan",
    "inf",
    "-inf",
    "true",
    "maybe",
    "²",  # superscript two: str.isdigit() says yes, int() says no
    "².1",
    "1.²",
    "0.²",
    "١٢٣",  # Arabic-Indic digits: int() reads them
    "１２",  # fullwidth digits
    "𝟗",  # mathematical bold nine
    "①",
    "9" * 19,
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "9" * 5000,  # over int()'s 4,300-digit limit
    "9" * 5000 + ".1",
    "1." + "9" * 5000,
    "9" * 40 + "." + "9" * 40,
    ".",
    "1.",
    ".1",
    "1.1.1",
    "\x00",
    "\r\n",
    "☃",
    "a" * 10_000,
    "'\"<script>",
    "&",
    "=",
    "running,,finished,",
    "(",
    "a{1000}{1000}",
]
VALUES = [(value, value) for value in RAW] + [(value[:60], quote(value, safe="")) for value in TEXT]

# The values that let a parameter's neighbours through to it: a search needs a query, a signature
# is only checked with an expiry and the other way round.
REQUIRED = {"q": "line"}
COMPANIONS = {"expires": {"signature": "0" * 64}, "signature": {"expires": "9999999999"}}


@dataclass(frozen=True)
class Operation:
    method: str  # "WS" for a websocket route
    path: str  # a template: /v1/jobs/{job_id}/log
    params: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def self_read_params() -> set[str]:
    """Names handlers read with `query_params.get(...)`, found in the source."""
    names: set[str] = set()
    for package in SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            names.update(re.findall(r"query_params\.get\(\s*\"(\w+)\"", path.read_text()))
    return names


def operations(app: FastAPI) -> list[Operation]:
    """Every route of `app` with every query parameter it may read: its declared ones, plus the
    ones read by hand (access_token, expires, signature, from_clock: any route may get them)."""
    extra = tuple(sorted(self_read_params()))
    found = []
    for path, route in served_routes(app):
        if isinstance(route, APIRoute):
            declared = tuple(param.alias for param in route.dependant.query_params)
            methods = sorted(route.methods or ())
        elif isinstance(route, APIWebSocketRoute):
            declared, methods = (), ["WS"]
        elif isinstance(route, Route):  # /docs, /openapi.json
            declared, methods = (), sorted((route.methods or {"GET"}) - {"HEAD"})
        else:
            raise AssertionError(f"a route of a kind the matrix does not know: {route!r}")
        for method in methods:
            found.append(Operation(method, path, tuple(dict.fromkeys(declared + extra))))
    return found


def queries(operation: Operation) -> list[tuple[str, str]]:
    """(case name, raw query string) for every parameter of `operation` and every value: alone,
    empty, repeated, and all parameters bad at once."""
    cases = []
    for param in operation.params:
        base = {name: value for name, value in REQUIRED.items() if name in operation.params}
        base.update(COMPANIONS.get(param, {}))
        base.pop(param, None)
        prefix = "".join(f"{name}={quote(value, safe='')}&" for name, value in base.items())
        cases.append((f"{param} bare", f"{prefix}{param}"))
        cases.append((f"{param}= twice", f"{prefix}{param}=&{param}="))
        for shown, encoded in VALUES:
            cases.append((f"{param}={shown!r}", f"{prefix}{param}={encoded}"))
            cases.append((f"{param}=1&{param}={shown!r}", f"{prefix}{param}=1&{param}={encoded}"))
    for shown, encoded in VALUES:
        if len(encoded) * len(operation.params) > 60_000:
            continue  # past httpx's URL length limit; each parameter had the value alone above
        every = "&".join(f"{param}={encoded}" for param in operation.params)
        cases.append((f"every parameter {shown!r}", every))
    return cases

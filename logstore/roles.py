"""Roles: what a service package adds to a process, declared once in its own package.

A role has a name (the `logstore NAME` command that runs it alone), a one-line help and a
`build` that, given the settings and the open store and bus, returns its parts: HTTP routers,
inner middleware (fast paths that run inside the proxy, metrics and rate-limit layers) and
background workers; and any other commands of its own (the compactor's `purge`). The core finds
the roles through the `logstore.roles` entry points of the installed distributions
(pyproject.toml: `ingest = "ingest.role:ROLE"`), never by importing a service package by name;
`logstore serve` runs every role found, so the all-in-one process has every router and every
worker of every role. Adding a role: a module in its package defining a `Role`, and one
entry-point line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the heavy imports wait for a process that runs a role
    from fastapi import APIRouter, FastAPI
    from starlette.middleware import Middleware

    from logstore.bus import Bus
    from logstore.config import Settings
    from logstore.process import Worker
    from logstore.store import LogStore

ENTRY_POINTS = "logstore.roles"


@dataclass
class RoleParts:
    routers: list[APIRouter] = field(default_factory=list)
    middleware: list[Middleware] = field(default_factory=list)  # first listed outermost
    workers: list[Worker] = field(default_factory=list)


@dataclass(frozen=True)
class Role:
    name: str
    help: str
    build: Callable[[Settings, LogStore, Bus], RoleParts]
    order: int = 0  # where its routers and middleware go in a process of several roles
    # the role's other commands (`logstore purge`): each adds its subparser to the `logstore` parser
    commands: tuple[Callable[[Any], None], ...] = ()


@cache
def registered() -> tuple[Role, ...]:
    """Every role of the installed distributions, in their order."""
    found: list[Role] = []
    for point in entry_points(group=ENTRY_POINTS):
        role: Any = point.load()
        if not isinstance(role, Role):
            raise TypeError(f"entry point {point.name} = {point.value} is not a logstore.roles.Role")
        if role.name != point.name:
            raise TypeError(f"entry point {point.name} names a role called {role.name}")
        found.append(role)
    if not found:  # an install from before the entry points: its metadata does not list them
        raise RuntimeError(f"no {ENTRY_POINTS} entry points are installed: reinstall (pip install -e .)")
    return tuple(sorted(found, key=lambda r: (r.order, r.name)))


def compose(
    settings: Settings,
    store: LogStore,
    bus: Bus,
    roles: Sequence[Role] | None = None,
    rate_clock: Callable[[], float] = time.monotonic,
) -> tuple[FastAPI, list[Worker]]:
    """One process's HTTP app and background workers: those of `roles` (all registered ones by
    default) over an open store and bus; the rate limit refills by `rate_clock`."""
    from logstore.web.app import create_app
    from logstore.web.forwarded import TrustedProxies

    parts = [role.build(settings, store, bus) for role in (registered() if roles is None else roles)]
    app = create_app(
        routers=[router for part in parts for router in part.routers],
        ready=store.ping,
        limits=settings.limits,
        rate_clock=rate_clock,
        client_address=TrustedProxies.of(settings.http),
        inner_middleware=[middleware for part in parts for middleware in part.middleware],
    )
    return app, [worker for part in parts for worker in part.workers]


def build_app(
    settings: Settings, store: LogStore, bus: Bus, rate_clock: Callable[[], float] = time.monotonic
) -> FastAPI:
    """The all-in-one HTTP app of every registered role (its workers are not started)."""
    return compose(settings, store, bus, rate_clock=rate_clock)[0]

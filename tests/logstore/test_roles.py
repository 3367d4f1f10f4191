"""Roles as modules: the core finds them by entry point, `logstore serve` runs every router and
worker of every role (the AMQP ingester too, given RabbitMQ), and a new role needs only its
module and one entry-point line."""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
import types
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter

import logstore.roles
from logstore.bus import Bus
from logstore.bus.amqp import AmqpBus
from logstore.bus.memory import MemoryBus
from logstore.cli import role as role_command
from logstore.cli.main import build_parser
from logstore.config import Settings
from logstore.roles import Role, RoleParts, compose, registered
from logstore.store import LogStore
from logstore.store.sqlite import SQLiteStore
from logstore.supervisor import Supervisor
from tests.routes import served_paths
from tests.servers import require_rabbitmq


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    registered.cache_clear()
    yield
    registered.cache_clear()


def worker_names(workers: list[Any]) -> list[str]:
    return [w.name if isinstance(w, Supervisor) else type(w).__name__ for w in workers]


def test_the_three_service_roles_are_registered_in_order() -> None:
    assert [role.name for role in registered()] == ["ingest", "stream", "compact"]


@pytest.mark.rabbitmq
async def test_serve_runs_every_worker_of_every_role_and_consumes_amqp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`logstore serve` on RabbitMQ, up to the point where it starts its server and workers."""
    started: dict[str, Any] = {}

    async def run_role(app: Any, http: Any, workers: Any = (), stream: Any = None) -> None:
        started["app"], started["workers"] = app, list(workers)

    monkeypatch.setattr("logstore.process.run_role", run_role)
    settings = Settings({"store": f"sqlite:///{tmp_path}/db.sqlite", "bus": require_rabbitmq()})
    await role_command.run_roles(settings, registered(), amqp_only=False)

    names = worker_names(started["workers"])
    assert "amqp_ingester" in names  # the worker the all-in-one process once left out
    store = SQLiteStore(tmp_path / "other.sqlite")
    bus = await AmqpBus.connect(settings.bus)
    try:
        expected = [n for r in registered() for n in worker_names(r.build(settings, store, bus).workers)]
    finally:
        await bus.close()
        await store.close()
    assert names == expected
    assert set(names) >= {"amqp_ingester", "CompactionWorker", "Sweeper"}
    paths = served_paths(started["app"])
    assert {"/v1/jobs/{job_id}/chunks/{clock}", "/v1/jobs/{job_id}/log", "/v1/jobs/{job_id}"} <= paths


def test_a_role_added_by_an_entry_point_is_served_and_has_its_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a new package does: a module with a Role, and one entry-point line."""
    marker = APIRouter()

    @marker.get("/v1/extra")
    async def extra() -> dict[str, str]:
        return {"extra": "yes"}

    def build(settings: Settings, store: LogStore, bus: Bus) -> RoleParts:
        return RoleParts(routers=[marker])

    extra_role = Role("extra", "a role from elsewhere", build, order=5)
    module = types.ModuleType("extra_role_module")
    module.ROLE = extra_role  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "extra_role_module", module)
    real = importlib.metadata.entry_points

    def with_extra(group: str) -> list[EntryPoint]:
        points = list(real(group=group))
        if group == logstore.roles.ENTRY_POINTS:
            points.append(EntryPoint("extra", "extra_role_module:ROLE", group))
        return points

    monkeypatch.setattr(logstore.roles, "entry_points", with_extra)
    assert [role.name for role in registered()][-1] == "extra"
    parser = build_parser()
    args = parser.parse_args(["extra", "--store", "sqlite:///x"])
    assert callable(args.run)
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {action.dest: action.help for action in commands._choices_actions}
    assert helps["serve"] == "run every role in one process (ingest, stream, compact, extra)"
    assert helps["extra"] == "a role from elsewhere"
    store = SQLiteStore(tmp_path / "db.sqlite")
    app, _ = compose(Settings({"store": "sqlite:///unused"}), store, MemoryBus())
    assert "/v1/extra" in served_paths(app)


def test_an_entry_point_that_is_not_a_role_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def bad(group: str) -> list[EntryPoint]:
        return [EntryPoint("ingest", "logstore.roles:compose", group)]

    monkeypatch.setattr(logstore.roles, "entry_points", bad)
    with pytest.raises(TypeError, match=r"not a logstore\.roles\.Role"):
        registered()

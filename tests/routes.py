"""Every route an app serves, with its full path. FastAPI keeps an included router as one entry
of `app.routes` (from 0.16x on), so the routes of the roles' routers are one level down."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import FastAPI
from starlette.routing import BaseRoute


def served_routes(app: FastAPI) -> list[tuple[str, BaseRoute]]:
    """(full path, route) for every route of `app`, through every included router."""
    return list(_walk(app.routes, ""))


def served_paths(app: FastAPI) -> set[str]:
    return {path for path, _ in served_routes(app)}


def _walk(entries: Iterable[BaseRoute], prefix: str) -> Iterator[tuple[str, BaseRoute]]:
    for route in entries:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _walk(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        else:
            yield prefix + str(getattr(route, "path", "")), route

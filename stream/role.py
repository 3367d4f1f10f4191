"""The stream role: downloads, status, search, times, the jobs list, live tails and the viewer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from logstore.roles import Role, RoleParts

if TYPE_CHECKING:
    from logstore.bus import Bus
    from logstore.config import Settings
    from logstore.store import LogStore


def build(settings: Settings, store: LogStore, bus: Bus) -> RoleParts:
    from stream.routes import stream_routers

    return RoleParts(routers=list(stream_routers(settings, store, bus)))


ROLE = Role("stream", "serve downloads, live tails and the viewer", build, order=1)

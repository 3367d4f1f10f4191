"""The compactor role: archives finished jobs taken from the compaction queue, the sweep that
requests every unarchived job due, and the admin DELETE endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from compactor import dictionary_command, purge_command
from logstore.roles import Role, RoleParts

if TYPE_CHECKING:
    from logstore.bus import Bus
    from logstore.config import Settings
    from logstore.store import LogStore


def build(settings: Settings, store: LogStore, bus: Bus) -> RoleParts:
    from compactor.http import admin_router
    from compactor.sweep import Sweeper
    from compactor.worker import CompactionWorker

    return RoleParts(
        routers=[admin_router(store, settings.auth)],
        workers=[CompactionWorker(store, bus, settings.compact), Sweeper(store, bus, settings.compact)],
    )


ROLE = Role(
    "compact",
    "turn finished logs into compressed archives",
    build,
    order=2,
    commands=(purge_command.register, dictionary_command.register),
)

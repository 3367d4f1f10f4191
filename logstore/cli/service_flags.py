"""The flags of the service commands (`logstore serve`, `logstore ingest`, ...): one per settings
field marked `flag(...)` in logstore/config.py, with that field's name, type, choices and
description. A flag given wins over its LOGSTORE_* variable; one not given leaves the variable or
the default in force."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from logstore.cli.deferred_parser import DeferredParser

if TYPE_CHECKING:
    from logstore.config import Settings

GROUP = "service configuration (flags win over LOGSTORE_* variables)"


def add_service_flags(parser: argparse.ArgumentParser) -> None:
    """Add the group to `parser`; when first used if it is a DeferredParser (pydantic is slow to
    import and client commands need none of it)."""
    if isinstance(parser, DeferredParser):
        parser.defer(_add_group)
    else:
        _add_group(parser)


def _add_group(parser: argparse.ArgumentParser) -> None:
    from logstore.config_flags import service_flags

    group = parser.add_argument_group(GROUP)
    for flag in service_flags():
        default = f"{flag.default} = {flag.note}" if flag.note else flag.default
        help_text = f"{flag.description} (default: {default}; {flag.variable})"
        typed: dict[str, Any] = {} if flag.kind is str else {"type": flag.kind}
        group.add_argument(
            flag.option,
            dest=flag.name,
            choices=flag.choices,
            metavar=flag.metavar,
            help=help_text.replace("%", "%%"),
            **typed,
        )


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of a command: its flags that were given, over the LOGSTORE_* variables."""
    from logstore.config import Settings  # pydantic is slow to import; client commands skip it
    from logstore.config_flags import service_flags

    overrides: dict[str, Any] = {flag.name: getattr(args, flag.name, None) for flag in service_flags()}
    return Settings(overrides)

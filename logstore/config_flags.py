"""The flags of the service commands, read from the settings classes (logstore/config.py): the one
list the argparse group (logstore/cli/service_flags.py) and README.md's configuration table
(logstore/config_table.py) are built from."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from logstore.config import COMPONENTS, MiB

DAY_S = 86_400


@dataclass(frozen=True)
class Flag:
    """One settings field that is also a flag."""

    component: str  # its key in COMPONENTS, the attribute of Settings: "limits"
    name: str  # the field: "max_chunk_bytes"
    kind: type[str] | type[int] | type[float]
    choices: tuple[str, ...] | None  # a Literal field's values
    metavar: str
    default: str  # as a person reads it: "1048576", "unset"
    note: str  # the default in larger units, or "": "1 MiB", "6 days"
    description: str

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def variable(self) -> str:
        return "LOGSTORE_" + self.name.upper()


def service_flags() -> list[Flag]:
    """Every field marked `flag(...)`, component by component in COMPONENTS' order."""
    return [
        _flag(component, name, info)
        for component, model in COMPONENTS.items()
        for name, info in model.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("flag")
    ]


def _flag(component: str, name: str, info: FieldInfo) -> Flag:
    kind, choices = _kind(name, info.annotation)
    extra = info.json_schema_extra
    metavar = extra.get("metavar") if isinstance(extra, dict) else None
    if not isinstance(metavar, str):
        metavar = "{" + ",".join(choices) + "}" if choices else name.upper()
    if not info.description:
        raise TypeError(f"{component}.{name}: a flag needs a description (its help)")
    default, note = shown(name, info.default)
    return Flag(component, name, kind, choices, metavar, default, note, info.description)


def _kind(name: str, annotation: Any) -> tuple[type[str] | type[int] | type[float], tuple[str, ...] | None]:
    """The argparse type and choices of an annotation: int, float, str, SecretStr, a Literal of
    strings, or one of those or None."""
    if get_origin(annotation) in (Union, types.UnionType):
        given = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(given) == 1:
            annotation = given[0]
    if get_origin(annotation) is Literal:
        choices = get_args(annotation)
        if all(isinstance(choice, str) for choice in choices):
            return str, choices
    if annotation in (int, float, str):
        return annotation, None
    if annotation is SecretStr:
        return str, None
    raise TypeError(f"{name}: no flag type for {annotation!r}; use int, float, str or a Literal")


def shown(name: str, value: object) -> tuple[str, str]:
    """A default as a person reads it: unset for None and "", whole floats without ".0"; and, for
    a round number of bytes or seconds, the same in MiB or days."""
    if value is None or value == "":
        return "unset", ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    note = ""
    if isinstance(value, int) and value > 0:
        if name.endswith("_bytes") and value % MiB == 0:
            note = f"{value // MiB} MiB"
        elif name.endswith("_s") and value % DAY_S == 0:
            note = f"{value // DAY_S} days"
    return str(value), note

"""Is a results dict well-formed? Every expected figure present and a finite number (positive
where a rate, size or count must be), the four baselines present, verification passed. Used at
the end of each run and by the quick smoke test; it never judges a timing.

What is expected is read from the shape in results.py (its POSITIVE, AtLeast, PASSED and
EVERY_BASELINE marks), so no key is named here."""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from typing import Any, get_args, get_origin, get_type_hints, is_typeddict

from benchmarks.results import BASELINES as BASELINES
from benchmarks.results import AtLeast, Keys, Passed, Positive, Results


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _split(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    """A type without its Annotated marks (nor NotRequired), and the marks."""
    if get_origin(hint) in (typing.NotRequired, typing.Required):
        (hint,) = get_args(hint)
    if get_origin(hint) is typing.Annotated:
        bare, *marks = get_args(hint)
        return bare, tuple(marks)
    return hint, ()


def _constrained(hint: Any) -> bool:
    """Does this type, or any type inside it, carry a mark to check?"""
    bare, marks = _split(hint)
    if marks:
        return True
    if is_typeddict(bare):
        return any(_constrained(h) for h in get_type_hints(bare, include_extras=True).values())
    return any(_constrained(arg) for arg in get_args(bare))


def _value(path: str, value: Any, hint: Any, found: list[str]) -> None:
    bare, marks = _split(hint)
    for mark in marks:
        if isinstance(mark, Positive) and not _positive(value):
            found.append(f"{path}: not a positive number ({value!r})")
        elif isinstance(mark, AtLeast) and (not isinstance(value, list) or len(value) < mark.count):
            found.append(f"{path}: {mark.problem}")
        elif isinstance(mark, Keys):
            held = value if isinstance(value, Mapping) else {}
            found.extend(f"{path}.{name}: missing" for name in mark.names if name not in held)
    if is_typeddict(bare):
        _node(path, value, bare, found)
    elif get_origin(bare) is list and isinstance(value, list):
        (item,) = get_args(bare)
        for index, element in enumerate(value):
            _value(f"{path}.{index}", element, item, found)
    elif get_origin(bare) is dict and isinstance(value, Mapping):
        _, item = get_args(bare)
        for key, element in value.items():
            _value(f"{path}.{key}", element, item, found)


def _node(path: str, node: Any, shape: Any, found: list[str]) -> None:
    if not isinstance(node, Mapping):
        found.append(f"{path}: missing")
        return
    for key, hint in get_type_hints(shape, include_extras=True).items():
        where = f"{path}.{key}" if path else key
        _, marks = _split(hint)
        if any(isinstance(mark, Passed) for mark in marks):
            if node.get(key) is not True:
                found.append(f"{path} failed: {dict(node)}")
        elif key in node:
            _value(where, node[key], hint, found)
        elif key in shape.__required_keys__ and _constrained(hint):
            positive = any(isinstance(mark, Positive) for mark in marks)
            found.append(f"{where}: not a positive number (None)" if positive else f"{where}: missing")


def problems(results: Mapping[str, Any]) -> list[str]:
    """What is missing or malformed; empty when the results are well-formed."""
    found: list[str] = []
    _node("", results, Results, found)
    return found

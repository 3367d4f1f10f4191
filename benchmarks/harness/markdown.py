"""Markdown tables, written one way for every report: a header row, a `|---|` rule per column,
then one row per item. Cells are written as given (formatted by the caller, not escaped)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def row(cells: Iterable[object]) -> str:
    """One table row: `| a | b |`."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole table, its lines joined by newlines (no newline after the last)."""
    lines = [row(headers), "|" + "---|" * len(headers)]
    for cells in rows:
        if len(cells) != len(headers):
            raise ValueError(f"{len(cells)} cells for {len(headers)} columns: {cells!r}")
        lines.append(row(cells))
    return "\n".join(lines)

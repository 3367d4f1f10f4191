"""README.md's configuration table, generated from the settings classes (logstore/config.py): one
row per service flag. `python -m logstore.config_table [README.md]` rewrites the table in place;
tests/logstore/test_config_table.py fails while README.md's table differs from this one."""

from __future__ import annotations

import sys
from pathlib import Path

from logstore.config_flags import Flag, service_flags

HEADER = ("| flag | variable | default | meaning |", "|---|---|---|---|")


def config_table() -> str:
    """The markdown table, without a final newline."""
    return "\n".join([*HEADER, *(_row(flag) for flag in service_flags())])


def _row(flag: Flag) -> str:
    default = flag.default if flag.default == "unset" else f"`{flag.default}`"
    if flag.note:
        default += f" ({flag.note})"
    meaning = flag.description.replace("|", r"\|")
    return f"| `{flag.option} {flag.metavar}` | `{flag.variable}` | {default} | {meaning} |"


def _span(readme: str) -> tuple[int, int]:
    """The line numbers [start, end) of the table in `readme`: its header and the rows after it."""
    lines = readme.split("\n")
    try:
        start = lines.index(HEADER[0])
    except ValueError:
        raise ValueError(f"no configuration table: no line {HEADER[0]!r}") from None
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def table_in(readme: str) -> str:
    """The configuration table as `readme` has it."""
    start, end = _span(readme)
    return "\n".join(readme.split("\n")[start:end])


def with_table(readme: str) -> str:
    """`readme` with its configuration table replaced by the generated one."""
    start, end = _span(readme)
    lines = readme.split("\n")
    return "\n".join([*lines[:start], config_table(), *lines[end:]])


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "README.md")
    text = path.read_text(encoding="utf-8")
    updated = with_table(text)
    if updated == text:
        print(f"{path}: the configuration table is current")
    else:
        path.write_text(updated, encoding="utf-8")
        print(f"{path}: configuration table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The one markdown table writer of the benchmarks (report.md, the soak's summary.md,
compression.md): header, rule, rows, cells as given."""

from __future__ import annotations

import pytest

from benchmarks.harness.markdown import row, table


def test_a_table_is_its_header_a_rule_per_column_and_a_line_per_row() -> None:
    assert table(("a", "bb"), [(1, "x"), ("2.50", True)]) == (
        "| a | bb |\n|---|---|\n| 1 | x |\n| 2.50 | True |"
    )


def test_a_table_without_rows_is_its_header_and_rule() -> None:
    assert table(("only",), []) == "| only |\n|---|"


def test_cells_are_written_as_given() -> None:
    assert row(["`Range: bytes=0-0`", "", "1 / 2"]) == "| `Range: bytes=0-0` |  | 1 / 2 |"


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="1 cells for 2 columns"):
        table(("a", "b"), [("x",)])

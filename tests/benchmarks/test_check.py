"""check.problems judges a run's results by the shape in benchmarks/results.py: a results dict
built from that shape is well-formed, and each kind of flaw in it is named by its path."""

from __future__ import annotations

import math
import typing
from typing import Any, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from benchmarks.check import problems
from benchmarks.results import BASELINES, AtLeast, Keys, Results


def _sample(hint: Any) -> Any:
    """A value of the type `hint` with every figure 1 and every list as long as it must be."""
    count = 1
    names: tuple[str, ...] = ("x",)
    if get_origin(hint) in (typing.NotRequired, typing.Required):
        (hint,) = get_args(hint)
    if get_origin(hint) is typing.Annotated:
        hint, *marks = get_args(hint)
        for mark in marks:
            count = mark.count if isinstance(mark, AtLeast) else count
            names = mark.names if isinstance(mark, Keys) else names
    if is_typeddict(hint):
        return {key: _sample(h) for key, h in get_type_hints(hint, include_extras=True).items()}
    if get_origin(hint) is list:
        return [_sample(get_args(hint)[0]) for _ in range(count)]
    if get_origin(hint) is dict:
        return {name: _sample(get_args(hint)[1]) for name in names}
    return {bool: True, int: 1, float: 1.0, str: "x"}[hint]


@pytest.fixture
def results() -> dict[str, Any]:
    sample: dict[str, Any] = _sample(Results)
    return sample


def test_results_of_the_documented_shape_are_well_formed(results: dict[str, Any]) -> None:
    assert problems(results) == []
    assert set(results["baselines"]) == set(BASELINES)


@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, None, "12"])
def test_a_figure_that_must_be_positive_is_named(results: dict[str, Any], value: object) -> None:
    results["ours"]["sustained"]["chunks_per_s"] = value
    results["baselines"]["cassandra_raw"]["backlog"][0]["cpu_us_per_chunk"] = value
    assert problems(results) == [
        f"ours.sustained.chunks_per_s: not a positive number ({value!r})",
        f"baselines.cassandra_raw.backlog.0.cpu_us_per_chunk: not a positive number ({value!r})",
    ]


def test_a_missing_figure_a_missing_part_and_a_missing_baseline_are_named(results: dict[str, Any]) -> None:
    del results["ours"]["realistic"]["viewer_p99_ms"]
    del results["ours"]["half_peak"]
    del results["baselines"]["pg_parts"]
    del results["ratios"]["rabbitmq"]
    assert problems(results) == [
        "ours.half_peak: missing",
        "ours.realistic.viewer_p99_ms: not a positive number (None)",
        "baselines.pg_parts: missing",
        "ratios.rabbitmq: missing",
    ]


def test_lists_shorter_than_a_run_makes_are_named(results: dict[str, Any]) -> None:
    results["ours"]["saturation"] = results["ours"]["saturation"][:1]
    results["ours"]["backlog"] = results["ours"]["backlog"][:3]
    results["ours"]["http_put"] = []
    results["corpus_ratio"] = []
    assert problems(results) == [
        "ours.saturation: fewer than two ingester counts",
        "ours.backlog: fewer than four chunk sizes",
        "ours.http_put: missing",
        "corpus_ratio: missing",
    ]


def test_a_failed_verification_is_named_with_its_flags(results: dict[str, Any]) -> None:
    results["verification"]["passed"] = False
    assert problems(results) == [f"verification failed: {results['verification']}"]


def test_figures_that_may_be_zero_are_not_judged(results: dict[str, Any]) -> None:
    results["ours"]["realistic"]["streamer_viewer_lags"] = 0.0
    results["ours"]["live_jobs"][0]["backlog_chunks"] = 0.0
    assert problems(results) == []

"""The viewer's "jump to the first error" (stream/static/failure.js) run by Node.js with the
default rules: a hostile line of megabytes costs what an ordinary line costs (only its first
MAX_TESTED characters are matched), and the rules still find what they are for."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from stream.error_rules import DEFAULT_RULES

FAILURE_JS = Path(__file__).resolve().parents[2] / "stream" / "static" / "failure.js"


def find(lines: list[str]) -> int:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the machine's Node.js runs the viewer's scripts)")
    script = (
        f"const f = require({json.dumps(str(FAILURE_JS))});"
        "const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const lines = input.lines.map((text) => ({ text }));"
        "process.stdout.write(String(f.findFailure(lines, f.compileRules(input.rules))));"
    )
    done = subprocess.run(
        [node, "-e", script],
        input=json.dumps({"lines": lines, "rules": DEFAULT_RULES}).encode(),
        capture_output=True,
        timeout=120,
        check=True,
    )
    return int(done.stdout)


def test_the_default_rules_find_a_make_error_and_a_failed_command() -> None:
    lines = ["cc -c x.c", "make: *** [Makefile:12: x.o] Error 1", 'The command "make" exited with 2.']
    assert find(lines) == 1


def test_a_hostile_line_of_megabytes_is_matched_only_at_its_start() -> None:
    hostile = "*** [" * 400_000  # 2 MB: quadratic for `\*\*\* \[.*\] Error` over the whole line
    assert find(["ok", hostile, "done"]) == -1
    late = "x" * 5000 + " Error: far along a long line"
    assert find(["ok", late]) == -1  # past the first MAX_TESTED characters: not looked at
    assert find(["ok", "Error: at the start"]) == 1

"""The rules behind the viewer's "jump to the first error", and `GET /v1/error-rules` serving them.

Three lists of regexes, matched against each line as the viewer shows it (ANSI styles removed),
by the page's script (stream/static/failure.js):
- `failed_command`: a command that failed (a non-zero exit status). The last such line is the
  failed step.
- `command_ok`: a command that succeeded. The failed step's output starts after the last such line
  before the failed command.
- `error`: a line that says what went wrong. The first one in the failed step's output is where
  the jump lands; with no failed command, the first one in the log; with none, the failed
  command's line itself.

A platform team extends them with `--error-patterns FILE` (`LOGSTORE_ERROR_PATTERNS`): a JSON
object with any of the three lists, added after the defaults (`"replace": true` drops the
defaults). The patterns must be valid in both Python's `re` and JavaScript (keep to the common
subset: no lookbehind, no named groups); each is checked at start. The viewer matches only the
first 2,000 characters of a line (failure.js MAX_TESTED), so no pattern costs more on a hostile
line of megabytes than on an ordinary one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from logstore.errors import ConfigError

KINDS = ("failed_command", "command_ok", "error")
MAX_PATTERNS = 200
MAX_PATTERN_CHARS = 500

DEFAULT_RULES: dict[str, list[str]] = {
    "failed_command": [
        r'^The command ".*" exited with [1-9][0-9]*\.',  # Travis CI
        r"exited with (status|code) [1-9][0-9]*",  # Buildkite, most shells and runners
        r"^ERROR: Job failed: exit (code|status) [1-9][0-9]*",  # GitLab
        r"Process completed with exit code [1-9][0-9]*",  # GitHub Actions
    ],
    "command_ok": [
        r'^The command ".*" exited with 0\.',
        r"exited with (status|code) 0\b",
    ],
    "error": [
        r"^Traceback \(most recent call last\)",
        r"\bBUILD FAIL(ED|URE)\b",
        r"<<< (FAILURE|ERROR)!",
        r"\bFAILED\b",
        r"\bError:",
        r"^\[ERROR\]",
        r"^(error|fatal)(\[[A-Za-z0-9]+\])?:",
        r"^npm ERR!",
        r"\*\*\* \[[^\]]{0,300}\] Error [0-9]+",  # make (bounded: no backtracking across a hostile line)
    ],
}


def load_rules(path: str | None) -> dict[str, list[str]]:
    """The defaults, extended (or replaced) by the rules in the JSON file at `path`. Raises
    ConfigError with a message a person can act on."""
    if not path:
        return {kind: list(patterns) for kind, patterns in DEFAULT_RULES.items()}
    where = f"--error-patterns (LOGSTORE_ERROR_PATTERNS) {path}"
    try:
        given: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot read a JSON object from it: {exc}") from None
    if not isinstance(given, dict) or set(given) - {*KINDS, "replace"}:
        raise ConfigError(f"{where}: expected an object with the lists {', '.join(KINDS)} (and replace)")
    rules = {kind: [] if given.get("replace") is True else list(DEFAULT_RULES[kind]) for kind in KINDS}
    for kind in KINDS:
        extra = given.get(kind, [])
        if not isinstance(extra, list) or not all(isinstance(p, str) and p for p in extra):
            raise ConfigError(f"{where}: {kind} must be a list of non-empty strings")
        for pattern in extra:
            _check(pattern, where)
        rules[kind] += extra
        if len(rules[kind]) > MAX_PATTERNS:
            raise ConfigError(f"{where}: more than {MAX_PATTERNS} {kind} patterns")
    return rules


def _check(pattern: str, where: str) -> None:
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ConfigError(f"{where}: a pattern is longer than {MAX_PATTERN_CHARS} characters")
    if "(?<" in pattern or "(?P" in pattern:
        raise ConfigError(f"{where}: {pattern!r}: lookbehind and named groups differ in JavaScript")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{where}: {pattern!r} is not a valid regex: {exc}") from None


def error_rules_router(rules: dict[str, list[str]]) -> APIRouter:
    router = APIRouter()
    body = {kind: rules[kind] for kind in KINDS}

    @router.get("/v1/error-rules")
    async def error_rules() -> JSONResponse:
        """The rules the viewer's "jump to the first error" applies (see docs/search.md)."""
        return JSONResponse(body, headers={"Cache-Control": "max-age=300"})

    return router

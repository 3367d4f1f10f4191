"""Finding lines in a log: the query (a substring, or a regex run by RE2) and the scanner that
feeds the log to it piece by piece.

The semantics are grep's. A log is a sequence of lines, each ending in `\\n` (the last one may
not); a line matches when the pattern occurs in it, and a match never spans a newline. Each
matching line is reported once: its 1-based number, the byte offset of its start (what `grep -b`
prints), the byte offset of its first match (what `grep -bo` prints) and the byte spans of its
matches. A line longer than MAX_LINE_BYTES is searched in windows of that size, each window
reported like a line of its own (same number, the window's offset): memory stays bounded
whatever the log holds.

Why RE2: it runs in time linear in the log whatever the pattern (no backtracking, so no
catastrophic cases) and compiles within a memory budget; a pattern it cannot compile within it
is refused with InvalidSearch (HTTP 422) before any byte is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2

from logstore.errors import InvalidSearch
from logstore.numbers import decimal

MAX_QUERY_CHARS = 1000
REGEX_MEMORY_BYTES = 8 * 1024 * 1024  # RE2's budget for the compiled program and its DFA cache
MAX_LINE_BYTES = 1024 * 1024
TEXT_BYTES = 400  # a reported line is cut to this many bytes around its first match
MAX_SPANS = 50  # spans reported per line


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    regex: bool = False
    case_insensitive: bool = False


def compile_query(query: Query) -> Any:
    """The RE2 program of a query; raises InvalidSearch for an empty, too long or invalid one."""
    if not query.text:
        raise InvalidSearch("the search needs a non-empty q")
    if len(query.text) > MAX_QUERY_CHARS:
        raise InvalidSearch(f"q is longer than {MAX_QUERY_CHARS} characters")
    options = re2.Options()
    options.max_mem = REGEX_MEMORY_BYTES
    options.never_nl = True  # a match stays within one line, as in grep
    options.literal = not query.regex
    options.case_sensitive = not query.case_insensitive
    options.log_errors = False
    # ^ and $ match at line boundaries (literal patterns take no flags)
    pattern = query.text if not query.regex else f"(?m){query.text}"
    try:
        return re2.compile(pattern.encode(), options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else b""
        message = (reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)).replace(
            "(?m)", ""
        )
        raise InvalidSearch(f"q is not a regex this search can run: {message}") from None


@dataclass(frozen=True, slots=True)
class LineMatch:
    line: int  # 1-based
    offset: int  # byte offset of the line's start in the log
    spans: tuple[tuple[int, int], ...]  # byte spans of the matches, relative to the line's start
    text: str  # the line (or a window of it), decoded as UTF-8 with replacement characters
    text_offset: int  # where `text` starts in the line, in bytes
    truncated: bool

    def as_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "offset": self.offset,
            "match_offset": self.offset + self.spans[0][0],
            "spans": [list(span) for span in self.spans],
            "text": self.text,
            "text_offset": self.text_offset,
            "truncated": self.truncated,
        }


@dataclass(frozen=True, slots=True)
class Position:
    """Where a scan stands: the byte offset of a line's start and that line's number."""

    offset: int = 0
    line: int = 1

    def cursor(self) -> str:
        return f"{self.offset}.{self.line}"

    @classmethod
    def parse(cls, cursor: str) -> Position:
        offset_text, _, line_text = cursor.partition(".")
        offset, line = decimal(offset_text, 20), decimal(line_text, 20)
        if offset is None or line is None or line < 1 or len(cursor) > 40:
            raise InvalidSearch("cursor is not one this search gave out")
        return cls(offset, line)


class LineScanner:
    """Feed the log from `start` on, in order, piece by piece; each call returns the matching
    lines completed so far, at most `limit` in all. Once the limit is reached, `resume` is where
    the next page starts."""

    def __init__(self, pattern: Any, start: Position, limit: int) -> None:
        self._pattern = pattern
        self._carry = b""
        self._at = start  # the position of the carry's first byte
        self._left = limit
        self.resume: Position | None = None

    @property
    def position(self) -> Position:
        """The start of the first line not completely scanned yet."""
        return self._at

    @property
    def full(self) -> bool:
        return self._left <= 0

    def feed(self, piece: bytes) -> list[LineMatch]:
        if self.full:
            return []
        data = self._carry + piece if self._carry else piece
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) >= MAX_LINE_BYTES:
            cut = MAX_LINE_BYTES  # a very long line: searched a window at a time
        self._carry = data[cut:]
        return self._scan(data[:cut], True)

    def finish(self) -> list[LineMatch]:
        """The end of the log (or of what is readable now): the unterminated last line."""
        carry, self._carry = self._carry, b""
        return self._scan(carry, False) if carry and not self.full else []

    def _scan(self, region: bytes, more: bool) -> list[LineMatch]:
        found: list[LineMatch] = []
        base, line = self._at.offset, self._at.line
        counted = position = 0
        while self._left > 0:
            match = self._pattern.search(region, position)
            if match is None:
                break
            start = match.start()
            line_start = region.rfind(b"\n", 0, start) + 1
            line_end = region.find(b"\n", start)
            if line_end == -1:
                line_end = len(region)
            line += region.count(b"\n", counted, line_start)
            counted = line_start
            found.append(self._describe(region, line_start, line_end, base, line))
            self._left -= 1
            position = line_end + 1
            if position > len(region):
                break
        ends = region.count(b"\n", counted)
        self._at = Position(base + len(region), line + ends)
        if self.full and position < len(region):
            # the page is full: the next one starts with the line after the last one reported
            self.resume = Position(base + position, line + 1)
            self._carry = b""
        elif self.full:
            self.resume = self._at if more else None
        return found

    def _describe(self, region: bytes, start: int, end: int, base: int, number: int) -> LineMatch:
        spans: list[tuple[int, int]] = []
        position = start
        while len(spans) < MAX_SPANS and position <= end:
            match = self._pattern.search(region, position, end)
            if match is None:
                break
            spans.append((match.start() - start, match.end() - start))
            position = match.end() if match.end() > match.start() else match.end() + 1
        first = spans[0][0]
        length = end - start
        text_start = 0 if length <= TEXT_BYTES else max(0, min(first - TEXT_BYTES // 4, length - TEXT_BYTES))
        raw = region[start + text_start : min(end, start + text_start + TEXT_BYTES)]
        return LineMatch(
            line=number,
            offset=base + start,
            spans=tuple(spans),
            text=raw.decode("utf-8", errors="replace"),
            text_offset=text_start,
            truncated=length > TEXT_BYTES,
        )

// "Jump to the first error": where a failed job most likely went wrong, found with the rules of
// GET /v1/error-rules (stream/error_rules.py says what each list means). Knows nothing of the DOM.
"use strict";

function compileRules(rules) {
  const compile = (list) => (list || []).map((pattern) => new RegExp(pattern));
  return { failed: compile(rules.failed_command), ok: compile(rules.command_ok), error: compile(rules.error) };
}

// The index of the line to jump to in `lines` (objects with `text`), or -1 when nothing looks
// like a failure: the first error line of the last failed command's output, else that command's
// line; with no failed command, the first error line of the log.
// Only the first MAX_TESTED characters of a line are matched: a log may hold a line of megabytes
// (minified output, a progress bar without newlines), and a pattern's backtracking on it must
// cost no more than on a line of ordinary length.
const MAX_TESTED = 2000;

function findFailure(lines, rules) {
  const matches = (list, i) => list.some((pattern) => pattern.test(lines[i].text.slice(0, MAX_TESTED)));
  let failed = -1;
  for (let i = lines.length - 1; i >= 0 && failed === -1; i--) if (matches(rules.failed, i)) failed = i;
  let start = 0;
  if (failed !== -1) {
    for (let i = failed - 1; i >= 0; i--) if (matches(rules.ok, i)) { start = i + 1; break; }
  }
  const end = failed === -1 ? lines.length : failed;
  for (let i = start; i < end; i++) if (matches(rules.error, i)) return i;
  return failed;
}

if (typeof module !== "undefined") module.exports = { compileRules, findFailure, MAX_TESTED };

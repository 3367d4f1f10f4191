// The log as lines: UTF-8 decoded across chunk boundaries, carriage-return progress lines reduced
// to what a terminal would finally show, fold markers (travis_fold, GitLab sections, ::group::)
// turned into foldable sections, ANSI styles rendered. Knows nothing of the DOM.
"use strict";

const MARKERS = new RegExp(
  [
    "travis_fold:(start|end):([A-Za-z0-9_.\\-]+)\\r?(?:\\x1b\\[0K)?",
    "section_(start|end):\\d+:([A-Za-z0-9_.\\-]+)(?:\\[[^\\]]*\\])?\\r?(?:\\x1b\\[0K)?",
    "travis_time:(?:start|end):[^\\r\\n]*?\\r(?:\\x1b\\[0K)?",
  ].join("|"),
  "g",
);

class LogModel {
  constructor(AnsiState) {
    this.ansi = new AnsiState();
    this.decoder = new TextDecoder("utf-8");
    this.lines = []; // {html, text, parent: fold index or -1, fold: fold index it heads or -1}
    this.folds = []; // {name, header: line index, parent, open, end: line index or null}
    this.stack = []; // open folds, innermost last
    this.partial = ""; // text after the last newline
    this.bytes = 0;
  }

  // Feed raw bytes; complete lines join `lines`; returns true if anything changed.
  push(bytes) {
    this.bytes += bytes.length;
    const text = this.decoder.decode(bytes, { stream: true });
    if (!text) return bytes.length === 0 ? false : true;
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop();
    for (const raw of parts) this.addLine(raw);
    return true;
  }

  // The unfinished last line as a terminal shows it now (progress bars live here).
  partialHtml() {
    if (!this.partial) return null;
    const state = Object.assign(Object.create(Object.getPrototypeOf(this.ansi)), this.ansi);
    return state.render(lastSegment(stripMarkers(this.partial)))[0];
  }

  addLine(raw) {
    if (raw.endsWith("\r")) raw = raw.replace(/\r+$/, "");
    const tokens = [];
    let last = 0, match;
    MARKERS.lastIndex = 0;
    while ((match = MARKERS.exec(raw)) !== null) {
      tokens.push({ text: raw.slice(last, match.index) });
      const kind = match[1] || match[3];
      const name = match[2] || match[4];
      if (kind) tokens.push({ kind, name });
      last = MARKERS.lastIndex;
    }
    tokens.push({ text: raw.slice(last) });
    const group = /^::(group|endgroup)::(.*)$/.exec(raw.replace(/\x1b\[[0-9;]*m/g, ""));
    if (group) {
      if (group[1] === "group") this.openFold(group[2] || "group", group[2]);
      else this.closeFold(null);
      return;
    }
    if (tokens.length === 1) { this.emit(tokens[0].text, true); return; }
    let heading = null;
    for (const token of tokens) {
      if (token.kind === "start") { heading = this.openFold(token.name, null); continue; }
      if (token.kind === "end") { this.closeFold(token.name); heading = null; continue; }
      if (token.text === undefined) continue;
      if (heading !== null) {
        const [html, visible] = this.render(token.text);
        if (visible.trim()) { this.lines[this.folds[heading].header].html = html; this.lines[this.folds[heading].header].text = visible; }
        heading = null;
      } else {
        this.emit(token.text, false);
      }
    }
  }

  // Render what a terminal finally shows of `text`; overwritten segments still set the styles.
  render(text) {
    const segments = text.split("\r");
    let keep = segments.length - 1;
    while (keep > 0 && segments[keep] === "") keep--;
    for (let i = 0; i < keep; i++) this.ansi.render(segments[i]);
    const result = this.ansi.render(segments[keep]);
    for (let i = keep + 1; i < segments.length; i++) this.ansi.render(segments[i]);
    return result;
  }

  emit(text, always) {
    const [html, visible] = this.render(text);
    if (!always && !visible.trim()) return;
    this.lines.push({ html, text: visible, parent: this.current(), fold: -1 });
  }

  // Chunks an abandoned job never received: a visible marker, never text glued across the hole.
  gap(from, to) {
    if (this.partial) { this.addLine(this.partial); this.partial = ""; }
    const text = `--- chunks ${from}-${to} never arrived ---`;
    this.lines.push({ html: `<span class="gap">${escapeHtml(text)}</span>`, text, parent: this.current(), fold: -1 });
  }

  current() { return this.stack.length ? this.stack[this.stack.length - 1] : -1; }

  openFold(name, title) {
    const index = this.folds.length;
    const header = this.lines.length;
    this.lines.push({ html: escapeHtml(title || name), text: title || name, parent: this.current(), fold: index });
    this.folds.push({ name, header, parent: this.current(), open: false, end: null });
    this.stack.push(index);
    return index;
  }

  closeFold(name) {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const fold = this.folds[this.stack[i]];
      if (name === null || fold.name === name) {
        for (const open of this.stack.splice(i)) this.folds[open].end = this.lines.length - 1;
        return;
      }
    }
  }

  // Is line i shown (no closed fold around it)?
  shown(i) {
    for (let f = this.lines[i].parent; f !== -1; f = this.folds[f].parent) {
      if (!this.folds[f].open) return false;
    }
    return true;
  }

  // Open every fold around line i (to show a linked line).
  reveal(i) {
    for (let f = this.lines[i].parent; f !== -1; f = this.folds[f].parent) this.folds[f].open = true;
  }
}

function stripMarkers(text) { MARKERS.lastIndex = 0; return text.replace(MARKERS, ""); }

// Carriage return without newline: the terminal shows what was written last over the line.
function lastSegment(text) {
  if (text.indexOf("\r") === -1) return text;
  const segments = text.split("\r");
  for (let i = segments.length - 1; i >= 0; i--) if (segments[i] !== "") return segments[i];
  return "";
}

if (typeof module !== "undefined") module.exports = { LogModel, lastSegment };

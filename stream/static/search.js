// Search in the page: runs on the log model (every line the page has received, not only the ones
// in the DOM), so it finds text anywhere in a 50 MB log and keeps finding it in lines that arrive
// later. Case-insensitive substring, like a browser's find. Knows nothing of the DOM.
"use strict";

class LogSearch {
  constructor(model) {
    this.model = model;
    this.query = "";
    this.matches = []; // {line, start, end}: character offsets in the line's visible text
    this.byLine = new Map(); // line index -> indices into matches
    this.scanned = 0; // lines searched so far
    this.current = -1; // index into matches of the one shown
  }

  // A new query: search every line again. Returns the number of matches.
  set(query) {
    this.query = query.toLowerCase();
    this.matches = [];
    this.byLine = new Map();
    this.scanned = 0;
    this.current = -1;
    this.update();
    return this.matches.length;
  }

  // Search the lines that arrived since the last call; true if matches were added.
  update() {
    const lines = this.model.lines;
    const before = this.matches.length;
    if (!this.query) { this.scanned = lines.length; return false; }
    for (let i = this.scanned; i < lines.length; i++) this.scanLine(i);
    this.scanned = lines.length;
    return this.matches.length !== before;
  }

  scanLine(i) {
    const text = this.model.lines[i].text.toLowerCase();
    let at = text.indexOf(this.query);
    while (at !== -1) {
      let list = this.byLine.get(i);
      if (!list) { list = []; this.byLine.set(i, list); }
      list.push(this.matches.length);
      this.matches.push({ line: i, start: at, end: at + this.query.length });
      at = text.indexOf(this.query, at + this.query.length);
    }
  }

  // Step to the next (+1) or previous (-1) match, wrapping around; returns it or null.
  step(direction) {
    if (!this.matches.length) return null;
    const n = this.matches.length;
    this.current = this.current === -1 ? (direction > 0 ? 0 : n - 1) : (this.current + direction + n) % n;
    return this.matches[this.current];
  }

  // The first match at or after line i (to start from what is in view).
  seek(i) {
    let low = 0, high = this.matches.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.matches[mid].line < i) low = mid + 1; else high = mid;
    }
    this.current = low < this.matches.length ? low - 1 : -1;
  }

  // The line's HTML with its matches wrapped in <mark> (the current one with class "current").
  highlight(i, html) {
    const list = this.byLine.get(i);
    if (!list) return html;
    const ranges = list.map((m) => [this.matches[m].start, this.matches[m].end, m === this.current]);
    return markText(html, ranges);
  }
}

// Wrap the text characters of `html` in the ranges [start, end) of its text in <mark>; tags stay
// as they are (a mark is closed before a tag and opened again after it), entities count as one
// character.
function markText(html, ranges) {
  let out = "", pos = 0, open = null, r = 0;
  const openTag = (current) => `<mark class="hit${current ? " current" : ""}">`;
  for (let k = 0; k < html.length;) {
    if (html[k] === "<") {
      const close = html.indexOf(">", k) + 1;
      if (open !== null) out += "</mark>";
      out += html.slice(k, close);
      if (open !== null) out += openTag(open);
      k = close;
      continue;
    }
    while (r < ranges.length && ranges[r][1] <= pos) r++;
    const inside = r < ranges.length && ranges[r][0] <= pos;
    if (inside && open === null) { open = ranges[r][2]; out += openTag(open); }
    if (!inside && open !== null) { out += "</mark>"; open = null; }
    const length = html[k] === "&" ? html.indexOf(";", k) + 1 - k : 1;
    out += html.slice(k, k + length);
    k += length;
    pos += 1;
    if (open !== null && r < ranges.length && ranges[r][1] <= pos) { out += "</mark>"; open = null; }
  }
  if (open !== null) out += "</mark>";
  return out;
}

if (typeof module !== "undefined") module.exports = { LogSearch, markText };

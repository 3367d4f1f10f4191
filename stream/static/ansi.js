// ANSI escape sequences to HTML. SGR state (colours, bold, ...) carries across lines, as in a
// terminal; every other escape sequence (cursor moves, erase, OSC titles and links) is dropped.
"use strict";

// OSC (ESC ]) and APC (ESC _, Buildkite's `_bk;t=...` timestamps) strings run to BEL or ST.
const ESCAPES = /\x1b\[([0-9;:?]*)([@-~])|\x1b[\]_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g;

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function xterm256(n) {
  if (n < 16) return null; // the 16 base colours use classes
  if (n < 232) {
    const steps = [0, 95, 135, 175, 215, 255];
    const v = n - 16;
    return `rgb(${steps[Math.floor(v / 36)]},${steps[Math.floor(v / 6) % 6]},${steps[v % 6]})`;
  }
  const grey = 8 + (n - 232) * 10;
  return `rgb(${grey},${grey},${grey})`;
}

class AnsiState {
  constructor() { this.reset(); }

  reset() {
    this.fg = null; this.bg = null; // number 0-15 (class) or "rgb(...)" (style)
    this.bold = false; this.dim = false; this.italic = false;
    this.underline = false; this.inverse = false; this.strike = false;
  }

  apply(params) {
    const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : parseInt(p, 10)));
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      if (c === 0) this.reset();
      else if (c === 1) this.bold = true;
      else if (c === 2) this.dim = true;
      else if (c === 3) this.italic = true;
      else if (c === 4) this.underline = true;
      else if (c === 7) this.inverse = true;
      else if (c === 9) this.strike = true;
      else if (c === 21 || c === 22) { this.bold = false; this.dim = false; }
      else if (c === 23) this.italic = false;
      else if (c === 24) this.underline = false;
      else if (c === 27) this.inverse = false;
      else if (c === 29) this.strike = false;
      else if (c >= 30 && c <= 37) this.fg = c - 30;
      else if (c === 39) this.fg = null;
      else if (c >= 40 && c <= 47) this.bg = c - 40;
      else if (c === 49) this.bg = null;
      else if (c >= 90 && c <= 97) this.fg = c - 90 + 8;
      else if (c >= 100 && c <= 107) this.bg = c - 100 + 8;
      else if (c === 38 || c === 48) {
        let colour = null;
        if (codes[i + 1] === 5) { const n = codes[i + 2] ?? 0; colour = n < 16 ? n : xterm256(n); i += 2; }
        else if (codes[i + 1] === 2) {
          colour = `rgb(${codes[i + 2] ?? 0},${codes[i + 3] ?? 0},${codes[i + 4] ?? 0})`; i += 4;
        }
        if (c === 38) this.fg = colour; else this.bg = colour;
      }
    }
  }

  open() {
    let fg = this.fg, bg = this.bg;
    if (this.inverse) { [fg, bg] = [bg ?? "inv-bg", fg ?? "inv-fg"]; }
    const classes = [], styles = [];
    if (typeof fg === "number") classes.push(`fg${fg}`); else if (fg === "inv-fg") classes.push("fg-inv"); else if (fg) styles.push(`color:${fg}`);
    if (typeof bg === "number") classes.push(`bg${bg}`); else if (bg === "inv-bg") classes.push("bg-inv"); else if (bg) styles.push(`background-color:${bg}`);
    if (this.bold) classes.push("b");
    if (this.dim) classes.push("dim");
    if (this.italic) classes.push("i");
    if (this.underline) classes.push("u");
    if (this.strike) classes.push("s");
    if (!classes.length && !styles.length) return "";
    return `<span${classes.length ? ` class="${classes.join(" ")}"` : ""}${styles.length ? ` style="${styles.join(";")}"` : ""}>`;
  }

  // Render `text` to HTML; returns [html, visibleText].
  render(text) {
    let html = "", visible = "", last = 0, match;
    ESCAPES.lastIndex = 0;
    const emit = (raw) => {
      const piece = raw.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "");
      if (!piece) return;
      const open = this.open();
      html += open + escapeHtml(piece) + (open ? "</span>" : "");
      visible += piece;
    };
    while ((match = ESCAPES.exec(text)) !== null) {
      emit(text.slice(last, match.index));
      if (match[2] === "m") this.apply(match[1]);
      last = ESCAPES.lastIndex;
    }
    emit(text.slice(last));
    return [html, visible];
  }
}

if (typeof module !== "undefined") module.exports = { AnsiState, escapeHtml };

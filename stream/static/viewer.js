// The log viewer: follows a job over the websocket and shows it with line numbers, ANSI styles
// and folds. Only the lines in view are in the DOM, so a 50 MB log stays responsive.
"use strict";

const LINE_HEIGHT = 18; // px, fixed: rows are positioned by index
const OVERSCAN = 40;

const jobId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
const query = new URLSearchParams(location.search);
const token = query.get("access_token");
// A signed URL (?expires=&signature=) opens a private job's page: every request of the page
// carries it, as the token would be carried.
const credentials = new URLSearchParams();
if (token) credentials.set("access_token", token);
for (const name of ["expires", "signature"]) if (query.get(name)) credentials.set(name, query.get(name));
const carried = credentials.toString();

const model = new LogModel(AnsiState);
const search = new LogSearch(model);
let visible = []; // indices of shown lines
let following = true;
let scheduled = false;
let dirtyVisible = true;
let nextClock = 0;
let ended = false;
let finalClock = null;
let retries = 0;

const scroller = document.getElementById("log");
const rows = document.getElementById("rows");
const status = document.getElementById("status");
const followButton = document.getElementById("follow");
document.getElementById("job").textContent = jobId;
document.getElementById("raw").href = `/v1/jobs/${encodeURIComponent(jobId)}/log` + (carried ? `?${carried}` : "");
document.title = `${jobId} - logstore`;

function recomputeVisible() {
  visible = [];
  for (let i = 0; i < model.lines.length; i++) if (model.shown(i)) visible.push(i);
  dirtyVisible = false;
}

function rowHtml(i) {
  const line = model.lines[i];
  const n = i + 1;
  let toggle = "";
  let cls = "line";
  if (line.fold !== -1) {
    const fold = model.folds[line.fold];
    toggle = `<span class="fold-toggle" data-fold="${line.fold}">${fold.open ? "\u25be" : "\u25b8"}</span>`;
    cls += " fold-header" + (fold.open ? " open" : "");
  }
  if (location.hash === `#L${n}`) cls += " target";
  if (i === failureLine) cls += " failure";
  const [stamp, duration] = showTimes ? timeHtml(i) : ["", ""];
  return `<div class="${cls}" id="L${n}" style="top:${0}px"><a class="ln" href="#L${n}">${n}</a>${stamp}${toggle}<span class="t">${search.highlight(i, line.html)}</span>${duration}</div>`;
}

function render() {
  scheduled = false;
  if (search.update()) showCount();
  if (dirtyVisible) recomputeVisible();
  const partial = model.partialHtml();
  const total = visible.length + (partial !== null ? 1 : 0);
  rows.style.height = `${total * LINE_HEIGHT}px`;
  if (following) scroller.scrollTop = scroller.scrollHeight;
  const first = Math.max(0, Math.floor(scroller.scrollTop / LINE_HEIGHT) - OVERSCAN);
  const last = Math.min(total, Math.ceil((scroller.scrollTop + scroller.clientHeight) / LINE_HEIGHT) + OVERSCAN);
  let html = "";
  for (let r = first; r < last; r++) {
    if (r < visible.length) html += rowHtml(visible[r]).replace('style="top:0px"', `style="top:${r * LINE_HEIGHT}px"`);
    else html += `<div class="line partial" style="top:${r * LINE_HEIGHT}px"><a class="ln">${model.lines.length + 1}</a><span class="t">${partial}</span></div>`;
  }
  rows.innerHTML = html;
  status.textContent = `${model.lines.length} lines, ${model.bytes} bytes` + (ended ? " - finished" : " - live");
  status.dataset.state = ended ? "ended" : "live";
  status.dataset.lines = String(model.lines.length);
  if (revealMatch) {
    revealMatch = false;
    const mark = rows.querySelector("mark.current");
    if (mark) mark.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
}

function schedule(changedLines) {
  if (changedLines) dirtyVisible = true;
  if (!scheduled) { scheduled = true; requestAnimationFrame(render); }
}

scroller.addEventListener("scroll", () => {
  const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - LINE_HEIGHT;
  if (!atBottom && following) setFollowing(false);
  schedule(false);
});

function setFollowing(on) {
  following = on;
  followButton.textContent = on ? "Following" : "Paused";
  followButton.setAttribute("aria-pressed", String(on));
  if (on) schedule(false);
}
followButton.addEventListener("click", () => setFollowing(!following));

rows.addEventListener("click", (event) => {
  const toggle = event.target.closest(".fold-toggle, .fold-header .t");
  if (!toggle) return;
  const header = event.target.closest(".line");
  const index = parseInt(header.id.slice(1), 10) - 1;
  const fold = model.lines[index].fold;
  if (fold === -1) return;
  model.folds[fold].open = !model.folds[fold].open;
  setFollowing(false);
  schedule(true);
});

function goToHash() {
  const match = /^#L(\d+)$/.exec(location.hash);
  if (!match) return;
  const index = parseInt(match[1], 10) - 1;
  if (index >= model.lines.length) return; // not arrived yet: tried again as lines come
  scrollToLine(index);
  return true;
}
let hashPending = Boolean(location.hash);

// Search: the box, Ctrl+F, Enter / Shift+Enter, the count; matches come from the model.
const searchInput = document.getElementById("search-input");
const searchCount = document.getElementById("search-count");
let revealMatch = false;
let typing = null;

function showCount() {
  const total = search.matches.length;
  const current = search.current + 1;
  searchCount.dataset.total = String(total);
  searchCount.dataset.current = String(current);
  searchCount.textContent = !search.query ? "" : total ? `${current} / ${total}` : "no matches";
}

// Show a line: open the folds around it and scroll it to a third of the height.
function scrollToLine(index) {
  model.reveal(index);
  recomputeVisible();
  setFollowing(false);
  const row = visible.indexOf(index);
  scroller.scrollTop = Math.max(0, row * LINE_HEIGHT - scroller.clientHeight / 3);
  schedule(false);
}

function stepSearch(direction) {
  if (search.query !== searchInput.value.toLowerCase()) runSearch();
  const match = search.step(direction);
  showCount();
  if (match === null) return;
  revealMatch = true;
  scrollToLine(match.line);
}

function runSearch() {
  clearTimeout(typing);
  search.set(searchInput.value);
  const top = visible[Math.floor(scroller.scrollTop / LINE_HEIGHT)] || 0;
  search.seek(top); // as in a browser's find: the first match from what is in view on
  if (search.matches.length) stepSearch(1);
  showCount();
  schedule(false);
}

searchInput.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(runSearch, 150); });
searchInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); stepSearch(event.shiftKey ? -1 : 1); }
  if (event.key === "Escape") searchInput.blur();
});
document.getElementById("search").addEventListener("submit", (event) => event.preventDefault());
document.getElementById("search-next").addEventListener("click", () => stepSearch(1));
document.getElementById("search-prev").addEventListener("click", () => stepSearch(-1));
// Times: when the chunk that completed each line was stored (GET /v1/jobs/{id}/times, by clock),
// and how long each fold took, from its header's time to its last line's.
const timesButton = document.getElementById("times");
let showTimes = false;
let times = [];
let timesTimer = null;

const timeOf = (i) => { const clock = model.lines[i].clock; return clock === undefined ? null : times[clock] ?? null; };
const formatSpan = (s) => s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;

function timeHtml(i) {
  const at = timeOf(i);
  const stamp = at === null ? `<span class="ts"></span>`
    : `<span class="ts" title="${new Date(at * 1000).toISOString()}">${new Date(at * 1000).toISOString().slice(11, 19)}</span>`;
  const line = model.lines[i];
  if (line.fold === -1) return [stamp, ""];
  const fold = model.folds[line.fold];
  const last = timeOf(fold.end === null ? model.lines.length - 1 : fold.end);
  const duration = at === null || last === null ? "" : `<span class="dur">${formatSpan(Math.max(0, last - at))}</span>`;
  return [stamp, duration];
}

async function loadTimes() {
  const response = await fetch(`/v1/jobs/${encodeURIComponent(jobId)}/times` + (carried ? `?${carried}` : ""));
  if (response.ok) times = (await response.json()).times;
  timesButton.dataset.loaded = String(times.length);
  schedule(false);
}

timesButton.addEventListener("click", async () => {
  showTimes = !showTimes;
  timesButton.setAttribute("aria-pressed", String(showTimes));
  clearInterval(timesTimer);
  if (showTimes) {
    await loadTimes();
    timesTimer = setInterval(() => { if (!ended || times.length < nextClock) loadTimes(); }, 3000);
  }
  schedule(false);
});

// Jump to the first error: the rules come from the server, a platform team may extend them.
const jumpButton = document.getElementById("jump-error");
let failureLine = -1;
let errorRules = null;
fetch("/v1/error-rules").then((response) => response.json()).then((rules) => {
  errorRules = compileRules(rules);
  jumpButton.dataset.ready = "true";
});
jumpButton.addEventListener("click", () => {
  if (errorRules === null) return;
  failureLine = findFailure(model.lines, errorRules);
  jumpButton.dataset.found = failureLine === -1 ? "none" : String(failureLine + 1);
  jumpButton.textContent = failureLine === -1 ? "No error found" : "First error";
  if (failureLine !== -1) scrollToLine(failureLine);
  schedule(false);
});

document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "f") {
    event.preventDefault(); // the browser's find sees only the lines in the DOM
    searchInput.focus();
    searchInput.select();
  }
});
window.addEventListener("hashchange", () => { hashPending = !goToHash(); });

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let url = `${scheme}//${location.host}/v1/jobs/${encodeURIComponent(jobId)}/tail?from_clock=${nextClock}`;
  if (carried) url += `&${carried}`;
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => {
    if (typeof event.data === "string") {
      const control = JSON.parse(event.data);
      if (control.type === "end") { ended = true; finalClock = control.final_clock; model.push(new Uint8Array(0)); schedule(true); }
      if (control.type === "gap") { model.gap(control.from_clock, control.to_clock); nextClock = control.to_clock + 1; schedule(true); }
      return;
    }
    const view = new DataView(event.data);
    const clock = Number(view.getBigUint64(0));
    if (clock !== nextClock) return; // never shown twice; the server guarantees order
    nextClock = clock + 1;
    retries = 0;
    const before = model.lines.length;
    model.push(new Uint8Array(event.data, 8));
    for (let i = before; i < model.lines.length; i++) model.lines[i].clock = clock; // completed by this chunk
    schedule(model.lines.length !== before);
    if (hashPending) hashPending = !goToHash();
  };
  socket.onclose = (event) => {
    if (ended || event.code === 1000) { ended = true; schedule(false); return; }
    if (event.code === 4400 || event.code === 4401 || event.code === 4403 || event.code === 4404) {
      status.textContent = `cannot follow this log: ${event.reason || event.code}`;
      return;
    }
    retries += 1;
    setTimeout(connect, Math.min(5000, 100 * 2 ** retries) * (0.5 + Math.random() / 2));
  };
}

setFollowing(!location.hash);
connect();

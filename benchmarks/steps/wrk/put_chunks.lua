-- wrk script: every request PUTs a new chunk. Thread t sends jobs "<prefix>-t<t>-j<n>" of
-- CHUNKS_PER_JOB chunks each, clocks in order; the body is BYTES bytes of log text.
-- Env: LOGSTORE_WRK_PREFIX, LOGSTORE_WRK_BYTES, LOGSTORE_WRK_CHUNKS_PER_JOB, LOGSTORE_WRK_TOKEN.
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  prefix = os.getenv("LOGSTORE_WRK_PREFIX") or "wrk"
  size = tonumber(os.getenv("LOGSTORE_WRK_BYTES") or "1600")
  per_job = tonumber(os.getenv("LOGSTORE_WRK_CHUNKS_PER_JOB") or "500")
  local line = "wrk load line: the quick brown fox jumps over the lazy dog 0123456789\n"
  body = string.rep(line, math.floor(size / #line) + 1):sub(1, size - 1) .. "\n"
  sent = 0
  local token = os.getenv("LOGSTORE_WRK_TOKEN")
  headers = {["Content-Type"] = "application/octet-stream"}
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
end

function request()
  local job = math.floor(sent / per_job)
  local clock = sent % per_job
  sent = sent + 1
  local path = string.format("/v1/jobs/%s-t%d-j%d/chunks/%d", prefix, id, job, clock)
  return wrk.format("PUT", path, headers, body)
end

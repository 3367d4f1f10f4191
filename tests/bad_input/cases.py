"""The bad-input matrix as data: every case names its channel, what is sent and the documented
answer. The tests in this package run them; docs/reliability.md lists them."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

from logstore.batch_body import Entry, encode_batch


@dataclass(frozen=True)
class HttpCase:
    name: str
    method: str
    path: str  # "{t}" is a finished job with clocks 0-2, "{w}" a running job with clocks 0-1
    status: int
    error: str | None = None  # the JSON body's "error" code, when the contract names one
    body: bytes = b"x"
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


A = "a"
WRITE_TOKEN, ADMIN_TOKEN = "matrix-write-token", "matrix-admin-token"
WRONG = {"Authorization": "Bearer not-the-token"}
BASIC = {"Authorization": f"Basic {WRITE_TOKEN}"}
GZ = gzip.compress(b"compressed log line\n")
GZIP = {"Content-Encoding": "gzip"}
BATCH = encode_batch([Entry("batch-job", 0, b"never stored\n", False, False)])
HTTP_CASES = [
    # ids, including path tricks
    HttpCase("id too long", "PUT", f"/v1/jobs/{A * 129}/chunks/0", 422, "invalid_job_id"),
    HttpCase("id with a space", "PUT", "/v1/jobs/bad%20id/chunks/0", 422, "invalid_job_id"),
    HttpCase("id ..", "PUT", "/v1/jobs/%2E%2E/chunks/0", 422, "invalid_job_id"),
    HttpCase("id with encoded slash", "PUT", "/v1/jobs/a%2F..%2Fb/chunks/0", 404),
    HttpCase("id ../ traversal to another job", "PUT", "/v1/jobs/x%2F..%2F{t}/chunks/0", 404),
    HttpCase("id with NUL", "PUT", "/v1/jobs/a%00b/chunks/0", 422, "invalid_job_id"),
    HttpCase("id non-ASCII", "PUT", "/v1/jobs/caf%C3%A9/chunks/0", 422, "invalid_job_id"),
    HttpCase(
        "id with newline (header injection)", "PUT", "/v1/jobs/a%0D%0Ab/chunks/0", 422, "invalid_job_id"
    ),
    HttpCase("id empty", "PUT", "/v1/jobs//chunks/0", 404),
    HttpCase("id invalid on status read", "GET", "/v1/jobs/bad%20id", 422, "invalid_job_id"),
    HttpCase("id invalid on log read", "GET", "/v1/jobs/%2E%2E/log", 422, "invalid_job_id"),
    # clocks
    HttpCase("clock negative", "PUT", "/v1/jobs/{t}/chunks/-1", 422, "invalid_clock"),
    HttpCase("clock not a number", "PUT", "/v1/jobs/{t}/chunks/x", 422, "invalid_clock"),
    HttpCase("clock 2^63", "PUT", "/v1/jobs/{t}/chunks/9223372036854775808", 422, "invalid_clock"),
    HttpCase("clock fractional", "PUT", "/v1/jobs/{t}/chunks/1.5", 422, "invalid_clock"),
    HttpCase("clock in hex", "PUT", "/v1/jobs/{t}/chunks/0x1", 422, "invalid_clock"),
    HttpCase("clock with a plus sign", "PUT", "/v1/jobs/{t}/chunks/%2B1", 422, "invalid_clock"),
    # sizes
    HttpCase("chunk over the limit", "PUT", "/v1/jobs/{w}/chunks/2", 413, "chunk_too_large", b"x" * 1025),
    HttpCase("log over the limit", "PUT", "/v1/jobs/{w}/chunks/2", 413, "log_too_large", b"x" * 1024),
    # duplicates, finals
    HttpCase("conflicting duplicate", "PUT", "/v1/jobs/{t}/chunks/1", 409, "conflict", b"other bytes"),
    HttpCase("chunk after the final one", "PUT", "/v1/jobs/{t}/chunks/3", 409),
    HttpCase("a second, earlier final", "PUT", "/v1/jobs/{w}/chunks/1?final=true", 409),
    HttpCase("final flag not a boolean", "PUT", "/v1/jobs/{w}/chunks/2?final=maybe", 422),
    # headers and encodings (chunk bytes themselves are opaque: any bytes are stored as sent)
    HttpCase("gzip-encoded chunk", "PUT", "/v1/jobs/{w}/chunks/2", 415, "unsupported_encoding", GZ, GZIP),
    HttpCase(
        "unknown Content-Encoding",
        "PUT",
        "/v1/jobs/{w}/chunks/2",
        415,
        "unsupported_encoding",
        headers={"Content-Encoding": "br;q=1"},
    ),
    # the batch endpoint's framing (its per-chunk statuses are those above: tests/ingest/test_http_batch.py)
    HttpCase("batch body empty", "POST", "/v1/chunks", 422, "invalid_batch", b""),
    HttpCase("batch entry cut short", "POST", "/v1/chunks", 422, "invalid_batch", BATCH[:-1]),
    HttpCase(
        "batch data length past the body", "POST", "/v1/chunks", 422, "invalid_batch", BATCH + b"\x00" * 11
    ),
    HttpCase("batch unknown flag bits", "POST", "/v1/chunks", 422, "invalid_batch", b"\x80" + BATCH[1:]),
    HttpCase("batch over 1000 chunks", "POST", "/v1/chunks", 422, "invalid_batch", BATCH * 1001),
    HttpCase("batch gzip-encoded", "POST", "/v1/chunks", 415, "unsupported_encoding", GZ, GZIP),
    HttpCase("batch without a token", "POST", "/v1/chunks", 401, body=BATCH, headers={"Authorization": ""}),
    HttpCase("batch with a wrong token", "POST", "/v1/chunks", 403, body=BATCH, headers=WRONG),
    HttpCase("range reversed", "GET", "/v1/jobs/{t}/log", 416, headers={"Range": "bytes=5-2"}),
    HttpCase("range past the end", "GET", "/v1/jobs/{t}/log", 416, headers={"Range": "bytes=99999-"}),
    HttpCase("offset negative", "GET", "/v1/jobs/{t}/log?offset=-1", 416),
    HttpCase("offset past the end", "GET", "/v1/jobs/{t}/log?offset=99999", 416),
    HttpCase("offset not a number", "GET", "/v1/jobs/{t}/log?offset=abc", 422),
    HttpCase("unknown job status", "GET", "/v1/jobs/never-seen", 404),
    HttpCase("unknown job log", "GET", "/v1/jobs/never-seen/log", 404),
    HttpCase("wrong method on chunks", "POST", "/v1/jobs/{w}/chunks/2", 405),
    # search (a bad query is refused before any byte of the log is read)
    HttpCase("search without q", "GET", "/v1/jobs/{t}/search", 422, "invalid_search"),
    HttpCase("search with an empty q", "GET", "/v1/jobs/{t}/search?q=", 422, "invalid_search"),
    HttpCase("search q over 1000 chars", "GET", f"/v1/jobs/{{t}}/search?q={A * 1001}", 422, "invalid_search"),
    HttpCase("search invalid regex", "GET", "/v1/jobs/{t}/search?q=a(b&regex=true", 422, "invalid_search"),
    HttpCase(
        "search regex over the memory budget",
        "GET",
        "/v1/jobs/{t}/search?q=((((a%7B1,100%7D)%7B1,100%7D)%7B1,100%7D)%7B1,100%7D)&regex=true",
        422,
        "invalid_search",
    ),
    HttpCase(
        "search backreference (not RE2)",
        "GET",
        "/v1/jobs/{t}/search?q=(a)%5C1&regex=true",
        422,
        "invalid_search",
    ),
    HttpCase("search cursor forged", "GET", "/v1/jobs/{t}/search?q=x&cursor=1;2", 422, "invalid_search"),
    HttpCase("search cursor line 0", "GET", "/v1/jobs/{t}/search?q=x&cursor=0.0", 422, "invalid_search"),
    HttpCase("search limit 0", "GET", "/v1/jobs/{t}/search?q=x&limit=0", 422),
    HttpCase("search limit over 1000", "GET", "/v1/jobs/{t}/search?q=x&limit=1001", 422),
    HttpCase("search case unknown", "GET", "/v1/jobs/{t}/search?q=x&case=upper", 422),
    HttpCase("search regex not a boolean", "GET", "/v1/jobs/{t}/search?q=x&regex=maybe", 422),
    HttpCase("search invalid id", "GET", "/v1/jobs/%2E%2E/search?q=x", 422, "invalid_job_id"),
    HttpCase("search unknown job", "GET", "/v1/jobs/never-seen/search?q=x", 404, "not_found"),
    # tokens (the matrix's app has a write and an admin token; PUTs carry the write token unless
    # a case sets its own Authorization header)
    HttpCase("write without a token", "PUT", "/v1/jobs/{w}/chunks/2", 401, headers={"Authorization": ""}),
    HttpCase("write with a wrong token", "PUT", "/v1/jobs/{w}/chunks/2", 403, headers=WRONG),
    HttpCase("write token in the wrong scheme", "PUT", "/v1/jobs/{w}/chunks/2", 401, headers=BASIC),
    HttpCase("delete without the admin token", "DELETE", "/v1/jobs/{t}", 401, headers={"Authorization": ""}),
    HttpCase("delete with the write token", "DELETE", "/v1/jobs/{t}", 403),
]

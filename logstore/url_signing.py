"""Signed, expiring read URLs: `?expires=<unix seconds>&signature=<hex>` lets whoever holds the
URL read one job until it expires, without a token (the viewer page of a private job, shared).

signature = hex HMAC-SHA256(key, "logstore-read\\n" + job_id + "\\n" + expires). The scope word
keeps a signature from meaning anything else; the job id binds it to one job. Comparison is in
constant time. Revoke every outstanding URL at once by changing the key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import urlencode

from logstore.numbers import decimal

SCOPE = "logstore-read"
MAX_EXPIRES_IN_S = 30 * 86_400  # the longest a minted URL may live
_DIGITS = 12  # an expires value longer than this is not a unix time we ever mint
clock: Callable[[], float] = time.time  # the wall clock URLs expire by (tests set their own)


def signature(key: bytes, job_id: str, expires: int) -> str:
    message = f"{SCOPE}\n{job_id}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_query(key: bytes, job_id: str, expires: int) -> str:
    """`expires=...&signature=...` for a URL of this job."""
    return urlencode({"expires": expires, "signature": signature(key, job_id, expires)})


def expiry(expires_in_s: float, now: float | None = None) -> int:
    return int((clock() if now is None else now) + expires_in_s)


def verify(key: bytes, job_id: str, expires: str, given: str, now: float | None = None) -> bool:
    """True when `given` is this job's signature for `expires` and `expires` has not passed."""
    at = decimal(expires, _DIGITS)
    if at is None or len(given) != 64 or not given.isascii():
        return False
    if at < (clock() if now is None else now):
        return False
    return hmac.compare_digest(signature(key, job_id, at).encode(), given.lower().encode())


def urls_of(base: str, key: bytes, job_id: str, expires: int) -> dict[str, object]:
    """The signed URLs of one job under `base` (http://host:port/)."""
    query = signed_query(key, job_id, expires)
    root = base.rstrip("/")
    socket_root = "ws" + root[len("http") :] if root.startswith("http") else root
    return {
        "job_id": job_id,
        "expires": expires,
        "viewer_url": f"{root}/jobs/{job_id}?{query}",
        "log_url": f"{root}/v1/jobs/{job_id}/log?{query}",
        "status_url": f"{root}/v1/jobs/{job_id}?{query}",
        "tail_url": f"{socket_root}/v1/jobs/{job_id}/tail?{query}",
    }

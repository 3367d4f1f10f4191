"""Who may read a job: the one decision behind every read path (status, log, tail, viewer).

Credentials, strongest first:
- `?expires=&signature=` (a signed URL of this job): valid and unexpired, or 403 (whatever the
  job: a bad signature says nothing about the job);
- a bearer token (`Authorization: Bearer`, or `?access_token=` where a browser cannot set
  headers): the read or the admin token, or 403 when a read token is configured;
- nothing: 401 when a read token is configured; otherwise a private job answers exactly like an
  unknown job, so its existence is not revealed: the same 404 (status, body, headers) after the
  same store reads (`require_read` reads the job's protection and row together, for every
  verdict), the viewer page of a job that may yet start (stream/viewer.py), and a tail that stays
  open and silent (stream/silent_tail.py), as one of a job not started yet.
"""

from __future__ import annotations

import asyncio
import enum
import hmac

from fastapi import HTTPException
from pydantic import SecretStr
from starlette.requests import HTTPConnection

from logstore import url_signing
from logstore.config import AuthSettings
from logstore.errors import JobNotFound
from logstore.store import JobProtection, LogStore


class Verdict(enum.Enum):
    ALLOWED = 200
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404


def bearer_of(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and given.strip():
        return given.strip()
    return connection.query_params.get("access_token") or None


def _matches(given: str, expected: SecretStr | None) -> bool:
    return expected is not None and hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


class ReadAccess:
    def __init__(self, store: LogStore, auth: AuthSettings) -> None:
        self.store = store
        self.auth = auth
        self._key = auth.url_signing_key.get_secret_value().encode() if auth.url_signing_key else None

    def token_verdict(self, connection: HTTPConnection) -> Verdict | None:
        """ALLOWED for the read or admin token, FORBIDDEN/UNAUTHORIZED when a read token is
        configured and this is not it; None when the job decides (no read token configured)."""
        given = bearer_of(connection)
        if given is not None and (
            _matches(given, self.auth.read_token) or _matches(given, self.auth.admin_token)
        ):
            return Verdict.ALLOWED
        if self.auth.read_token is None:
            return None
        return Verdict.UNAUTHORIZED if given is None else Verdict.FORBIDDEN

    def signature_verdict(self, connection: HTTPConnection, job_id: str) -> Verdict | None:
        expires = connection.query_params.get("expires")
        given = connection.query_params.get("signature")
        if expires is None and given is None:
            return None
        valid = self._key is not None and url_signing.verify(self._key, job_id, expires or "", given or "")
        return Verdict.ALLOWED if valid else Verdict.FORBIDDEN

    async def check(self, connection: HTTPConnection, job_id: str) -> tuple[Verdict, JobProtection]:
        """The verdict for reading `job_id` (a valid id), and the job's protection (its secrets
        are masked on every read path, whoever reads)."""
        protection = await self.store.job_protection(job_id)
        return job_verdict(self.credential_verdict(connection, job_id), protection), protection

    def credential_verdict(self, connection: HTTPConnection, job_id: str) -> Verdict | None:
        """The verdict of the credentials alone; None when the job's protection decides."""
        return self.signature_verdict(connection, job_id) or self.token_verdict(connection)


def job_verdict(credential: Verdict | None, protection: JobProtection) -> Verdict:
    """The verdict of credentials (`credential_verdict`) for a job with this protection: also
    for a tail, whose job's protection is read again while it runs (stream/guarded_tail.py)."""
    if credential is not None:
        return credential
    return Verdict.NOT_FOUND if protection.private else Verdict.ALLOWED


async def require_read(access: ReadAccess, connection: HTTPConnection, job_id: str) -> JobProtection:
    """For HTTP routes: the job's protection, or the refusal as an HTTP error. The job's row is
    read beside its protection, whatever the verdict: an unknown job and a private one read
    without credentials take the same two reads and get the same 404."""
    (verdict, protection), known = await asyncio.gather(
        access.check(connection, job_id), _has_row(access.store, job_id)
    )
    refuse(verdict, job_id)
    if not known:
        raise JobNotFound(f"job {job_id} not found")
    return protection


async def _has_row(store: LogStore, job_id: str) -> bool:
    try:
        await store.job_status(job_id)
    except JobNotFound:
        return False
    return True


def refuse(verdict: Verdict | None, job_id: str = "") -> None:
    """Raise the HTTP error of a refusal (a private job's 404 is exactly an unknown job's)."""
    if verdict is Verdict.UNAUTHORIZED:
        raise HTTPException(401, "reading requires a bearer token", headers={"WWW-Authenticate": "Bearer"})
    if verdict is Verdict.FORBIDDEN:
        raise HTTPException(403, "the token or signed URL is not valid for reading this job")
    if verdict is Verdict.NOT_FOUND:
        raise JobNotFound(f"job {job_id} not found")

"""`POST /v1/jobs/{job_id}/signed-url?expires_in=3600`: mint a signed, expiring read URL of one job
(the viewer page, the log, the status, the tail), for whoever holds the read or admin token."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from logstore import url_signing
from logstore.chunk import validate_job_id
from logstore.config import AuthSettings
from stream.access import ReadAccess, Verdict, bearer_of

BEARER = {"WWW-Authenticate": "Bearer"}


def signed_url_router(access: ReadAccess, auth: AuthSettings) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/jobs/{job_id}/signed-url")
    async def mint(
        job_id: str,
        request: Request,
        expires_in: int = Query(3600, ge=1, le=url_signing.MAX_EXPIRES_IN_S),
    ) -> JSONResponse:
        validate_job_id(job_id)
        if auth.read_token is None and auth.admin_token is None:
            raise HTTPException(403, "minting signed URLs needs --read-token or --admin-token configured")
        if access.token_verdict(request) is not Verdict.ALLOWED:
            if bearer_of(request) is None:
                raise HTTPException(
                    401,
                    "minting a signed URL requires the read or admin token",
                    {"WWW-Authenticate": "Bearer"},
                )
            raise HTTPException(403, "the token is not the read or admin token")
        if auth.url_signing_key is None:
            raise HTTPException(501, "no --url-signing-key (LOGSTORE_URL_SIGNING_KEY) is configured")
        key = auth.url_signing_key.get_secret_value().encode()
        expires = url_signing.expiry(expires_in)
        return JSONResponse(url_signing.urls_of(str(request.base_url), key, job_id, expires))

    return router

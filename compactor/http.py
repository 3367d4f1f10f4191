"""Admin HTTP: `DELETE /v1/jobs/{job_id}` with the admin token.

Deleting is open only on a server with no token at all (a laptop). As soon as any token is
configured, deleting needs the admin token, and without one configured it is refused (403):
neither the write nor the read token ever deletes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from compactor.retention import delete_job
from logstore.chunk import validate_job_id
from logstore.config import AuthSettings
from logstore.store import LogStore
from logstore.web.auth import bearer_guard


def admin_guard(auth: AuthSettings) -> Callable[[Request], Awaitable[None]]:
    if auth.admin_token is not None or (auth.write_token is None and auth.read_token is None):
        return bearer_guard(auth.admin_token, "deleting")

    async def refuse(_request: Request) -> None:
        raise HTTPException(403, "deleting needs the admin token: configure --admin-token")

    return refuse


def admin_router(store: LogStore, auth: AuthSettings) -> APIRouter:
    router = APIRouter(dependencies=[Depends(admin_guard(auth))])

    @router.delete("/v1/jobs/{job_id}", status_code=204)
    async def delete(job_id: str) -> Response:
        await delete_job(store, validate_job_id(job_id))  # 404 unknown, 409 running
        return Response(status_code=204)

    return router

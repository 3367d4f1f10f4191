"""Admin HTTP: `DELETE /v1/jobs/{job_id}` (admin token when configured)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from compactor.retention import delete_job
from logstore.chunk import validate_job_id
from logstore.config import AuthSettings
from logstore.store import LogStore
from logstore.web.auth import bearer_guard


def admin_router(store: LogStore, auth: AuthSettings) -> APIRouter:
    router = APIRouter(dependencies=[Depends(bearer_guard(auth.admin_token, "deleting"))])

    @router.delete("/v1/jobs/{job_id}", status_code=204)
    async def delete(job_id: str) -> Response:
        await delete_job(store, validate_job_id(job_id))  # 404 unknown, 409 running
        return Response(status_code=204)

    return router

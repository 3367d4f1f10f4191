"""Job protection over HTTP, with the write token (workers know their job's secrets):

- `PUT /v1/jobs/{job_id}/secrets` body `{"secrets": ["value", ...]}`: register values every read
  path shows as `***`; 200 `{"job_id", "secrets": count}` (values are never echoed), 422 for a
  body that is not a non-empty list of 1..512-byte strings or would pass 100 per job.
- `PUT /v1/jobs/{job_id}/settings` body `{"private": true}`: make the job private; 200. A private
  job stays private: `{"private": false}` is 422, as is any other key.

Either may come before the job's first chunk, or while it runs.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ingest.bounded_body import read_bounded
from ingest.service import IngestService
from logstore.chunk import validate_job_id
from logstore.config import AuthSettings
from logstore.errors import InvalidJobSettings, InvalidSecrets
from logstore.secret_values import MAX_BODY_BYTES, parse_secrets
from logstore.web.auth import bearer_guard

SETTINGS_BODY_BYTES = 1024


async def read_small_body(
    request: Request, limit: int, error: type[InvalidSecrets | InvalidJobSettings]
) -> bytes:
    return await read_bounded(request, limit, lambda _: error(f"the body is over {limit} bytes"))


def protection_router(service: IngestService, auth: AuthSettings) -> APIRouter:
    router = APIRouter(dependencies=[Depends(bearer_guard(auth.write_token, "writing"))])

    @router.put("/v1/jobs/{job_id}/secrets")
    async def register_secrets(job_id: str, request: Request) -> JSONResponse:
        validate_job_id(job_id)
        secrets = parse_secrets(await read_small_body(request, MAX_BODY_BYTES, InvalidSecrets))
        count = await service.protector.add_secrets(job_id, secrets)
        return JSONResponse({"job_id": job_id, "secrets": count})

    @router.put("/v1/jobs/{job_id}/settings")
    async def job_settings(job_id: str, request: Request) -> JSONResponse:
        validate_job_id(job_id)
        body = await read_small_body(request, SETTINGS_BODY_BYTES, InvalidJobSettings)
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidJobSettings('the body must be JSON: {"private": true}') from exc
        if not isinstance(document, dict) or set(document) != {"private"}:
            raise InvalidJobSettings('the body must be {"private": true}: no other setting exists')
        if document["private"] is not True:
            raise InvalidJobSettings("a job can be made private, never public again")
        await service.protector.mark_private([job_id])
        return JSONResponse({"job_id": job_id, "private": True})

    return router

"""`GET /v1/jobs` on SQLite and Cassandra: size, state, duration and last activity of each job,
filters by job-id prefix and by state, private jobs hidden from anonymous lists, bad filters 422."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from compactor.archive_job import ArchiveJob, Outcome
from logstore.config import CompactSettings
from logstore.store import LogStore
from tests.stream.conftest import ADMIN, put


async def listed(api: httpx.AsyncClient, **params: Any) -> dict[str, dict[str, object]]:
    response = await api.get("/v1/jobs", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return {job["job_id"]: job for job in response.json()["jobs"]}


async def test_jobs_carry_size_state_duration_and_last_activity_and_filter(
    secured: httpx.AsyncClient, any_store: LogStore, job_id: str
) -> None:
    await put(secured, f"{job_id}-done", 0, b"0123456789")
    await put(secured, f"{job_id}-done", 1, b"abc\n", final=True)
    await put(secured, f"{job_id}-live", 0, b"still going\n")
    await put(secured, f"{job_id}-arch", 0, b"archived log\n", final=True)
    assert (
        await ArchiveJob(any_store, CompactSettings(grace_s=0.1), "t").run(f"{job_id}-arch")
        is Outcome.COMPACTED
    )
    await put(secured, f"{job_id}-secret", 0, b"private\n", final=True, private=True)
    await put(secured, f"other-{job_id}", 0, b"elsewhere\n")

    mine = await listed(secured, prefix=job_id)
    assert set(mine) == {f"{job_id}-done", f"{job_id}-live", f"{job_id}-arch"}  # private one hidden
    done, live, arch = mine[f"{job_id}-done"], mine[f"{job_id}-live"], mine[f"{job_id}-arch"]
    assert (done["state"], done["bytes"], done["chunks"], done["final_clock"]) == ("finished", 14, 2, 1)
    assert (live["state"], live["bytes"]) == ("running", 12)
    assert (arch["state"], arch["bytes"]) == ("compacted", 13)
    for job in (done, live, arch):
        assert isinstance(job["updated_at"], float)
        assert float(job["updated_at"]) >= float(job["created_at"])  # type: ignore[arg-type]
        assert float(job["duration_s"]) >= 0  # type: ignore[arg-type]

    assert set(await listed(secured, prefix=job_id, state="running")) == {f"{job_id}-live"}
    both = await listed(secured, prefix=job_id, state="finished,compacted")
    assert set(both) == {f"{job_id}-done", f"{job_id}-arch"}
    assert f"other-{job_id}" not in await listed(secured, prefix="test-")
    admin = await secured.get(
        "/v1/jobs", params={"prefix": job_id, "limit": 500}, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert f"{job_id}-secret" in {job["job_id"] for job in admin.json()["jobs"]}
    assert len(await listed(secured, prefix=job_id, limit=1)) == 1  # the limit holds after filtering


@pytest.mark.parametrize("params", [{"state": "sleeping"}, {"prefix": "x" * 129}, {"limit": 0}])
async def test_bad_filters_are_422(secured: httpx.AsyncClient, params: dict[str, Any]) -> None:
    assert (await secured.get("/v1/jobs", params=params)).status_code == 422

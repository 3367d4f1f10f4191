"""Retention: remove old jobs for good (chunks, archive, record), never a running one."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from logstore.errors import ChunkConflict, JobBusy, JobNotFound
from logstore.store import JobState, LogStore

log = logging.getLogger("logstore.compactor")

PAGE = 500


@dataclass
class PurgeReport:
    deleted: int = 0
    kept_running: int = 0
    busy: int = 0  # being archived right now: deleted by a later purge


DELETE_LEASE_S = 60.0  # a delete takes a few round trips; a dead deleter blocks no longer


async def delete_job(store: LogStore, job_id: str) -> None:
    """Delete one job for good; raises JobNotFound, ChunkConflict for a running job, or JobBusy
    while a compaction or a reopen holds the job's lease: a delete never runs beside them (a
    compaction that outlived its lease stops before it writes: compactor/lease.py)."""
    status = await store.job_status(job_id)
    if status.state is JobState.RUNNING:
        raise ChunkConflict(f"job {job_id} is running: it is deleted only once it has finished")
    owner = f"delete/{uuid.uuid4().hex}"
    if not await store.claim(job_id, owner, DELETE_LEASE_S):
        raise JobBusy(f"job {job_id} is being archived; retry shortly")
    try:
        await store.delete_job(job_id)
    finally:
        await store.release(job_id, owner)
    log.info("job deleted", extra={"job_id": job_id})


async def purge(
    store: LogStore,
    older_than_s: float,
    dry_run: bool = False,
    created_after: float = 0.0,
    now: float | None = None,
) -> PurgeReport:
    """Delete every job whose first chunk is older than `older_than_s` at `now` (unix seconds;
    the current time unless given) and, when given, newer than `created_after`, except running
    ones."""
    report = PurgeReport()
    before = (time.time() if now is None else now) - older_than_s
    while True:
        page = await store.list_jobs(created_after, before, PAGE)
        for listing in page:
            try:
                if dry_run:
                    running = (await store.job_status(listing.job_id)).state is JobState.RUNNING
                    report.kept_running += running
                    report.deleted += not running
                else:
                    await delete_job(store, listing.job_id)
                    report.deleted += 1
            except ChunkConflict:
                report.kept_running += 1
            except JobBusy:
                report.busy += 1
            except JobNotFound:
                pass
        if len(page) < PAGE:
            return report
        before = page[-1].created_at  # the next page: older than the oldest seen

"""Retention: remove old jobs for good (chunks, archive, record), never a running one."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from logstore.errors import ChunkConflict, JobNotFound
from logstore.store import JobState, LogStore

log = logging.getLogger("logstore.compactor")

PAGE = 500


@dataclass
class PurgeReport:
    deleted: int = 0
    kept_running: int = 0


async def delete_job(store: LogStore, job_id: str) -> None:
    """Delete one job for good; raises JobNotFound, or ChunkConflict for a running job."""
    status = await store.job_status(job_id)
    if status.state is JobState.RUNNING:
        raise ChunkConflict(f"job {job_id} is running: it is deleted only once it has finished")
    await store.delete_job(job_id)
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
            except JobNotFound:
                pass
        if len(page) < PAGE:
            return report
        before = page[-1].created_at  # the next page: older than the oldest seen

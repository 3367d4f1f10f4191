"""Downloads: the contiguous prefix of a log, from clock 0 up to the first missing clock, streamed
chunk by chunk so memory stays flat whatever the log's size. Never bytes out of order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from logstore.store import JobInfo, LogStore
from stream import metrics


@dataclass(frozen=True)
class Download:
    info: JobInfo
    body: AsyncIterator[bytes]

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Length": str(self.info.contiguous_bytes),
            "Log-Complete": "true" if self.info.complete else "false",
        }


async def open_download(store: LogStore, job_id: str) -> Download:
    """Fix what the download holds (clocks 0..first gap - 1) before the first byte is sent, so
    its headers and body agree even while chunks keep arriving. Raises JobNotFound."""
    info = await store.get_job(job_id)
    metrics.DOWNLOADS.inc()
    return Download(info, _prefix(store, job_id, info.contiguous_clocks))


async def _prefix(store: LogStore, job_id: str, clocks: int) -> AsyncIterator[bytes]:
    if clocks == 0:
        return
    expected = 0
    async for clock, data in store.read_chunks(job_id, 0, clocks - 1):
        if clock != expected:  # the log changed under us (deleted): stop rather than skip bytes
            raise RuntimeError(f"job {job_id}: clock {expected} vanished during a download")
        expected += 1
        metrics.DOWNLOAD_BYTES.inc(len(data))
        yield data

"""Marking a job private from the chunk path: `?private=true` on a PUT and the AMQP header
`private`; the flag is stored before the chunk, and refused input marks nothing."""

from __future__ import annotations

import httpx
import pytest

from ingest.service import IngestService
from logstore.bus.memory import MemoryBus
from logstore.bus.messages import chunk_headers, decode_headers
from logstore.chunk import Chunk
from logstore.config import LimitsSettings
from logstore.errors import MalformedMessage
from logstore.store import JobProtection, LogStore


def test_the_private_header_is_an_optional_boolean() -> None:
    assert decode_headers(chunk_headers("j", 0, False)).private is False
    assert decode_headers(chunk_headers("j", 0, False, private=True)).private is True
    with pytest.raises(MalformedMessage, match="private must be a boolean"):
        decode_headers({"job_id": "j", "clock": 0, "private": "yes"})


async def test_a_batch_marks_its_private_jobs_before_storing(any_store: LogStore, job_id: str) -> None:
    service = IngestService(any_store, MemoryBus(), LimitsSettings())
    chunks = [Chunk.create(job_id, 0, b"a"), Chunk.create(f"{job_id}-public", 0, b"b")]
    await service.ingest_batch(chunks, private_jobs={job_id})
    assert (await any_store.job_protection(job_id)).private
    assert not (await any_store.job_protection(f"{job_id}-public")).private


async def test_private_on_a_put(api: httpx.AsyncClient, any_store: LogStore, job_id: str) -> None:
    refused = await api.put(f"/v1/jobs/{job_id}/chunks/-1", content=b"x", params={"private": "true"})
    assert refused.status_code == 422
    too_large = await api.put(f"/v1/jobs/{job_id}/chunks/0", content=b"x" * 2000, params={"private": "true"})
    assert too_large.status_code == 413
    assert await any_store.job_protection(job_id) == JobProtection()  # refused input marked nothing
    stored = await api.put(f"/v1/jobs/{job_id}/chunks/0", content=b"x", params={"private": "true"})
    assert stored.status_code == 201
    assert (await any_store.job_protection(job_id)).private
    assert (await api.get(f"/v1/jobs/{job_id}/log")).status_code == 404

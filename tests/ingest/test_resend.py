"""A re-sent chunk is never a conflict: after its job was archived (a worker whose 201 was lost, an
ingester killed before its ack) and when its log is at the size limit, an identical copy is
200 duplicate, checked against the stored or archived bytes; other bytes stay 409. On SQLite and
on Cassandra."""

from __future__ import annotations

import httpx

from compactor.archive_job import ArchiveJob, Outcome
from logstore.config import CompactSettings
from logstore.store import LogStore

PIECES = [f"line {n}: {'x' * (270 + n)}\n".encode() for n in range(12)]  # 3.5 KB: under the 4 KiB limit


async def push(api: httpx.AsyncClient, job_id: str) -> None:
    for clock, piece in enumerate(PIECES):
        final = "true" if clock == len(PIECES) - 1 else "false"
        response = await api.put(f"/v1/jobs/{job_id}/chunks/{clock}?final={final}", content=piece)
        assert response.status_code == 201


async def compact(store: LogStore, job_id: str) -> None:
    settings = CompactSettings(segment_bytes=1024, grace_s=0.1)  # four segments
    assert await ArchiveJob(store, settings, "test").run(job_id) is Outcome.COMPACTED
    assert [c async for c in store.read_chunks(job_id)] == []  # the chunks are gone


async def test_identical_chunks_after_compaction_are_duplicates(
    api: httpx.AsyncClient, any_store: LogStore, job_id: str
) -> None:
    await push(api, job_id)
    await compact(any_store, job_id)
    for clock, piece in enumerate(PIECES):
        final = "true" if clock == len(PIECES) - 1 else "false"
        again = await api.put(f"/v1/jobs/{job_id}/chunks/{clock}?final={final}", content=piece)
        assert (again.status_code, again.json()["result"]) == (200, "duplicate"), clock
    # the final chunk re-sent without its flag is the same chunk too (as before compaction)
    last = await api.put(f"/v1/jobs/{job_id}/chunks/{len(PIECES) - 1}", content=PIECES[-1])
    assert last.status_code == 200
    log = await api.get(f"/v1/jobs/{job_id}/log")
    assert log.content == b"".join(PIECES)
    assert (await api.get(f"/v1/jobs/{job_id}")).json()["state"] == "compacted"


async def test_other_bytes_after_compaction_stay_conflicts(
    api: httpx.AsyncClient, any_store: LogStore, job_id: str
) -> None:
    await push(api, job_id)
    await compact(any_store, job_id)
    refused = [
        await api.put(f"/v1/jobs/{job_id}/chunks/3", content=PIECES[3] + b"!"),  # other bytes
        await api.put(f"/v1/jobs/{job_id}/chunks/3?final=true", content=PIECES[3]),  # a new final
        await api.put(f"/v1/jobs/{job_id}/chunks/{len(PIECES)}", content=b"after the end\n"),
    ]
    assert [r.status_code for r in refused] == [409, 409, 409]
    assert {r.json()["error"] for r in refused} == {"conflict"}
    assert (await api.get(f"/v1/jobs/{job_id}/log")).content == b"".join(PIECES)


async def test_identical_chunk_of_a_log_at_its_limit_is_a_duplicate(
    api: httpx.AsyncClient, job_id: str
) -> None:
    # the `api` fixture allows 4 KiB per log: four 1 KiB chunks fill it
    pieces = [bytes([65 + n]) * 1024 for n in range(4)]
    for clock, piece in enumerate(pieces):
        assert (await api.put(f"/v1/jobs/{job_id}/chunks/{clock}", content=piece)).status_code == 201
    again = await api.put(f"/v1/jobs/{job_id}/chunks/3", content=pieces[3])
    assert (again.status_code, again.json()["result"]) == (200, "duplicate")
    over = await api.put(f"/v1/jobs/{job_id}/chunks/4", content=b"x")
    other = await api.put(f"/v1/jobs/{job_id}/chunks/3", content=b"y" * 1024)
    assert [over.status_code, other.status_code] == [413, 413]
    assert (await api.get(f"/v1/jobs/{job_id}/log")).content == b"".join(pieces)

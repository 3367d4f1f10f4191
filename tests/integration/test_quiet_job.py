"""A build step that prints nothing for a while loses nothing (issue 22), through the real
`logstore serve` process on SQLite and on the real Cassandra, with a worker that speaks plain HTTP
(curl): it sends chunk 0 of a real log, stays quiet longer than `abandon_after_s` while the sweep
runs again and again, then sends the rest. Every PUT is answered 201 and the log reads back byte
for byte, before and after compaction.

- With the default running limit (`abandon_running_after_s`, 6 days) the quiet job stays
  `running`: `abandon_after_s` is only for finished jobs with holes.
- With `--abandon-running-after-s 1` the sweep archives it as `abandoned` during the pause; the
  late chunks reopen it (ingest/late_chunks.py), and after its final chunk it is archived again,
  complete."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from benchmarks.harness.corpus import CORPUS, split
from benchmarks.harness.processes import serving
from logstore.store.cassandra.schema import apply_schema
from logstore.store.cassandra.url import parse_cassandra_url
from tests.polling import eventually, metric
from tests.servers import require_cassandra

pytestmark = pytest.mark.timeout(180)

LOG = CORPUS / "travis" / "hikaricp-446093148-failed.log"  # 7.5 KB of a real failed Travis build
CHUNK_BYTES = 1500  # 6 chunks, each over 1 KiB: curl 7 sends them after `Expect: 100-continue`
QUIET_S = 1.0  # abandon_after_s (and, in the second case, abandon_running_after_s)
SWEEP_ENV = {"LOGSTORE_SWEEP_INTERVAL_S": "0.2"}  # no flag: the environment sets it
# the compactor's wait for stragglers before it archives a job with clocks missing (5 s by default)
GRACE = ["--grace-s", "0.5"]
SWEEPS = 3  # sweeps that finished after the pause exceeded abandon_after_s (the first may have
# started before: the ones after it began late enough)
SWEPT = "logstore_compactor_sweep_last_success_timestamp_seconds"
WITHIN_S = 30.0  # one state change, on a loaded 2-core machine
KEYSPACE = "logstore_test_quiet"


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=pytest.mark.cassandra)])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """On Cassandra, a keyspace of this test's own: the sweep, every 0.2 s, requests compaction of
    every finished job it finds, and the shared test keyspace holds the suite's (other sessions'
    tests among them): this test would archive their jobs and wait behind them."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'logstore.db'}"
    own = urlunsplit(urlsplit(require_cassandra())._replace(path=f"/{KEYSPACE}"))
    await apply_schema(parse_cassandra_url(own))
    return own


def curl_path() -> str:
    found = shutil.which("curl")
    if found is None:
        pytest.fail("curl is not installed (the worker of this test); `apt-get install curl`")
    return found


async def curl_put(base: str, job_id: str, clock: int, data: bytes, final: bool = False) -> int:
    """PUT one chunk as a worker's shell script would; return the HTTP status."""
    url = f"{base}/v1/jobs/{job_id}/chunks/{clock}" + ("?final=true" if final else "")
    done = await asyncio.to_thread(
        subprocess.run,
        [curl_path(), "-sS", "--max-time", "60", "-o", "/dev/null", "-w", "%{http_code}",
         "-X", "PUT", "--data-binary", "@-", url],
        input=data, capture_output=True, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return int(done.stdout)


async def curl_log(base: str, job_id: str) -> bytes:
    """The log as curl receives it (no Accept-Encoding: the bytes as stored)."""
    done = await asyncio.to_thread(
        subprocess.run,
        [curl_path(), "-sS", "--fail", "--max-time", "60", f"{base}/v1/jobs/{job_id}/log"],
        capture_output=True, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


async def status(base: str, job_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        answer = await client.get(f"/v1/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


async def reaches(base: str, job_id: str, state: str) -> dict[str, Any]:
    """Wait until the job's state is `state`; return its status then."""
    seen: list[dict[str, Any]] = []

    async def there() -> bool:
        seen.append(await status(base, job_id))
        return bool(seen[-1]["state"] == state)

    try:
        await eventually(there, WITHIN_S, poll_s=0.05, what=f"{job_id} {state}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status: {seen[-1:]}") from None
    return seen[-1]


async def sweeps_after(base: str, moment: float) -> None:
    """Wait until the process has finished `SWEEPS` sweeps after the unix time `moment`."""
    finished: set[float] = set()

    async def swept() -> bool:
        at = await metric(base, SWEPT)
        if at > moment:
            finished.add(at)
        return len(finished) >= SWEEPS

    await eventually(swept, WITHIN_S, poll_s=0.05, what=f"{SWEEPS} sweeps after {moment}")


async def send_rest(base: str, job_id: str, pieces: list[bytes]) -> None:
    """Every chunk after the first, the last one final: each must be stored (201)."""
    answers = [
        await curl_put(base, job_id, clock, pieces[clock], final=clock == len(pieces) - 1)
        for clock in range(1, len(pieces))
    ]
    assert answers == [201] * (len(pieces) - 1)


async def test_a_quiet_running_job_stays_running_and_reads_back_whole(
    store_url: str, tmp_path: Path, job_id: str
) -> None:
    source = LOG.read_bytes()
    pieces = split(source, CHUNK_BYTES)
    assert len(pieces) > 2
    flags = [*GRACE, "--abandon-after-s", str(QUIET_S)]
    with serving(store_url, tmp_path, *flags, env=SWEEP_ENV) as base:
        assert await curl_put(base, job_id, 0, pieces[0]) == 201
        stored_at = time.time()  # the job's last write is no later than this
        await sweeps_after(base, stored_at + QUIET_S)
        quiet = await status(base, job_id)
        assert (quiet["state"], quiet["final_clock"], quiet["missing"]) == ("running", None, [])
        assert await curl_log(base, job_id) == pieces[0]

        await send_rest(base, job_id, pieces)
        assert await curl_log(base, job_id) == source
        compacted = await reaches(base, job_id, "compacted")
        assert (compacted["complete"], compacted["bytes"], compacted["missing"]) == (True, len(source), [])
        assert await curl_log(base, job_id) == source
        assert await metric(base, "logstore_ingest_jobs_reopened_total") == 0


async def test_a_job_archived_while_quiet_reopens_and_reads_back_whole(
    store_url: str, tmp_path: Path, job_id: str
) -> None:
    source = LOG.read_bytes()
    pieces = split(source, CHUNK_BYTES)
    flags = [*GRACE, "--abandon-after-s", str(QUIET_S), "--abandon-running-after-s", str(QUIET_S)]
    with serving(store_url, tmp_path, *flags, env=SWEEP_ENV) as base:
        assert await curl_put(base, job_id, 0, pieces[0]) == 201
        abandoned = await reaches(base, job_id, "abandoned")
        assert (abandoned["bytes"], abandoned["missing"]) == (len(pieces[0]), [])
        assert await curl_log(base, job_id) == pieces[0]  # from the archive

        await send_rest(base, job_id, pieces)
        assert await metric(base, "logstore_ingest_jobs_reopened_total") >= 1
        assert await curl_log(base, job_id) == source
        compacted = await reaches(base, job_id, "compacted")
        assert (compacted["complete"], compacted["bytes"], compacted["missing"]) == (True, len(source), [])
        assert compacted["final_clock"] == len(pieces) - 1
        assert await curl_log(base, job_id) == source

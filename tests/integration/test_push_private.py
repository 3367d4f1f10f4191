"""`logstore push --private` through a real `logstore serve`: the pushed job is readable only
with the admin token or a URL from `logstore sign-url`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from benchmarks.harness.processes import run_cli, serving

ADMIN, KEY = "admin-token-push-1", "signing-key-push-0123456789"


def test_a_privately_pushed_log_needs_the_admin_token_or_a_signed_url(tmp_path: Path, job_id: str) -> None:
    source = tmp_path / "build.log"
    source.write_bytes(b"".join(b"line %d\n" % n for n in range(500)))
    with serving(
        f"sqlite:///{tmp_path}/db.sqlite", tmp_path, "--admin-token", ADMIN, "--url-signing-key", KEY
    ) as base:
        pushed = run_cli(
            ["push", "--job", job_id, "--private", "--chunk-size", "700", "--server", base, str(source)]
        )
        assert pushed.returncode == 0, pushed.stderr
        assert httpx.get(f"{base}/v1/jobs/{job_id}/log").status_code == 404
        admin = httpx.get(f"{base}/v1/jobs/{job_id}/log", headers={"Authorization": f"Bearer {ADMIN}"})
        assert admin.content == source.read_bytes()
        signed = run_cli(
            ["sign-url", job_id, "--server", base, "--json"], env={"LOGSTORE_URL_SIGNING_KEY": KEY}
        )
        assert signed.returncode == 0, signed.stderr
        assert httpx.get(json.loads(signed.stdout)["log_url"]).content == source.read_bytes()

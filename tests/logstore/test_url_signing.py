"""Signed read URLs: bound to one job and one expiry under one key, compared in constant time."""

from __future__ import annotations

import json

import pytest

from logstore import url_signing
from logstore.cli.main import main

KEY = b"0123456789abcdef-key"


def test_a_signature_verifies_until_it_expires() -> None:
    signature = url_signing.signature(KEY, "job-1", 2_000)
    assert url_signing.verify(KEY, "job-1", "2000", signature, now=1_999)
    assert url_signing.verify(KEY, "job-1", "2000", signature.upper(), now=2_000)
    assert not url_signing.verify(KEY, "job-1", "2000", signature, now=2_001)


def test_other_jobs_expiries_keys_and_malformed_values_do_not_verify() -> None:
    signature = url_signing.signature(KEY, "job-1", 2_000)
    assert not url_signing.verify(KEY, "job-2", "2000", signature, now=0)
    assert not url_signing.verify(KEY, "job-1", "2001", signature, now=0)
    assert not url_signing.verify(b"another-key-0123456", "job-1", "2000", signature, now=0)
    for expires in ("", "-5", "2e3", " 2000", "9" * 13):
        assert not url_signing.verify(KEY, "job-1", expires, signature, now=0)
    for given in ("", signature[:-1], signature + "0", "g" * 64):
        assert not url_signing.verify(KEY, "job-1", "2000", given, now=0)


def test_the_cli_signs_urls_the_server_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sign-url", "job-7", "--expires-in", "60", "--url-signing-key", KEY.decode(), "--json",
                 "--server", "https://logs.example"])  # fmt: skip
    assert code == 0
    urls = json.loads(capsys.readouterr().out)
    assert urls["viewer_url"].startswith("https://logs.example/jobs/job-7?expires=")
    assert urls["tail_url"].startswith("wss://logs.example/v1/jobs/job-7/tail?expires=")
    query = dict(part.split("=") for part in urls["log_url"].split("?")[1].split("&"))
    assert url_signing.verify(KEY, "job-7", query["expires"], query["signature"])
    assert main(["sign-url", "job-7", "--expires-in", "0", "--url-signing-key", KEY.decode()]) == 2
    assert main(["sign-url", "bad id", "--url-signing-key", KEY.decode()]) == 2
    assert main(["sign-url", "job-7", "--url-signing-key", "short-key"]) == 2
    assert "short-key" not in capsys.readouterr().err

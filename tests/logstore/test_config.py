"""Configuration: flags win over LOGSTORE_* variables; bad values get messages naming both."""

from __future__ import annotations

import pytest

from logstore.config import Settings
from logstore.errors import ConfigError


def test_flags_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGSTORE_MAX_CHUNK_BYTES", "2048")
    monkeypatch.setenv("LOGSTORE_LISTEN", "0.0.0.0:9000")
    settings = Settings({"max_chunk_bytes": 4096})
    assert settings.limits.max_chunk_bytes == 4096
    assert (settings.http.host, settings.http.port) == ("0.0.0.0", 9000)


@pytest.mark.parametrize(
    ("field", "value", "flag"),
    [
        ("listen", "nope", "--listen (LOGSTORE_LISTEN)"),
        ("store", "mysql://x", "--store (LOGSTORE_STORE)"),
        ("bus", "kafka://x", "--bus (LOGSTORE_BUS)"),
        ("max_chunk_bytes", 0, "--max-chunk-bytes (LOGSTORE_MAX_CHUNK_BYTES)"),
        ("log_level", "LOUD", "--log-level (LOGSTORE_LOG_LEVEL)"),
    ],
)
def test_invalid_values_name_the_flag_and_variable(field: str, value: object, flag: str) -> None:
    with pytest.raises(ConfigError, match=flag.replace("(", r"\(").replace(")", r"\)")):
        Settings({field: value})


def test_bus_names_can_be_namespaced() -> None:
    names = Settings().bus.namespaced("run1")
    assert names.ingest_queue == "run1.logstore.ingest"
    assert names.as_env()["LOGSTORE_DEAD_LETTER_QUEUE"] == "run1.logstore.ingest.dead"


def test_several_broker_urls_are_split_in_order() -> None:
    urls = "amqp://u:p@127.0.0.1:5681/, amqp://u:p@127.0.0.1:5682/,amqp://u:p@127.0.0.1:5683/"
    assert Settings({"bus": urls}).bus.urls == [
        "amqp://u:p@127.0.0.1:5681/",
        "amqp://u:p@127.0.0.1:5682/",
        "amqp://u:p@127.0.0.1:5683/",
    ]
    assert Settings().bus.urls == ["memory://"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("amqp://u:p@h:1/,", "URL 2 of 2 is empty"),
        ("amqp://u:p@h:1/,,amqp://u:p@h:2/", "URL 2 of 3 is empty"),
        ("amqp://u:p@h:1/,http://u:secret@h:2/", r"URL 2 of 2 \('h:2/'\): use memory:// or amqp://"),
        ("memory://,amqp://u:p@h:1/", "memory:// is one process's bus"),
        ("amqp://u:p@h:1/,amqp:///", "URL 2 of 2 has no host"),
        ("amqp://u:p@h:99999/", "the URL: Port out of range"),
        ("amqp://u:p@h:1/,amqp://u:p@h:1/", "given twice"),
    ],
)
def test_bad_broker_url_lists_get_a_clear_message(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"--bus \(LOGSTORE_BUS\): .*" + message) as caught:
        Settings({"bus": value})
    assert "secret" not in str(caught.value)

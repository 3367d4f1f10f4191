"""README.md's configuration table is the one generated from the settings classes, and every flag
in it reaches its settings field, given on any service command or as its LOGSTORE_* variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from logstore.cli.main import build_parser
from logstore.cli.service_flags import settings_from
from logstore.config import Settings
from logstore.config_flags import Flag, service_flags
from logstore.config_table import config_table, table_in
from logstore.roles import registered

README = Path(__file__).resolve().parents[2] / "README.md"
FLAGS = {flag.option: flag for flag in service_flags()}
TABLE_FLAGS = re.findall(r"^\| `(--[a-z0-9-]+)[ `]", table_in(README.read_text("utf-8")), re.M)
COMMANDS = ("serve", *(role.name for role in registered()))
# values a str field's validator accepts; other str fields get "<name>-value"
SAMPLES = {
    "store": "sqlite:///elsewhere/logstore.db",
    "bus": "amqp://user:pass@broker.example:5672/ci",
    "listen": "0.0.0.0:9001",
    "trusted_proxies": "10.0.0.0/8",
    "url_signing_key": "k" * 32,
    "log_level": "DEBUG",
}
# fields valid only with another: a trusted proxy needs the header it sets, and the other way round
COMPANIONS = {"trusted_proxies": "client_address_header", "client_address_header": "trusted_proxies"}


def test_readme_table_is_the_generated_one() -> None:
    readme = table_in(README.read_text("utf-8"))
    assert readme == config_table(), (
        "README.md's configuration table differs from the settings classes: "
        "run `.venv/bin/python -m logstore.config_table` to rewrite it"
    )


def test_the_table_lists_every_flag_once() -> None:
    assert sorted(TABLE_FLAGS) == sorted(FLAGS)
    assert len(set(TABLE_FLAGS)) == len(TABLE_FLAGS)


def sample(flag: Flag) -> tuple[str, object]:
    """A valid value of `flag` as typed, and as the settings field holds it."""
    if flag.choices:
        return flag.choices[-1], flag.choices[-1]
    if flag.kind is int:
        return "5", 5
    if flag.kind is float:
        return "2.5", 2.5
    text = SAMPLES.get(flag.name, f"{flag.name}-value")
    return text, text


def given(flag: Flag) -> dict[str, str]:
    """The field names and typed values for `flag` and the field it needs, if any."""
    names = [flag.name, *([COMPANIONS[flag.name]] if flag.name in COMPANIONS else [])]
    by_name = {f.name: f for f in FLAGS.values()}
    return {name: sample(by_name[name])[0] for name in names}


def held(settings: Settings, flag: Flag) -> object:
    value = getattr(getattr(settings, flag.component), flag.name)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


@pytest.fixture(autouse=True)
def _no_logstore_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for flag in FLAGS.values():
        monkeypatch.delenv(flag.variable, raising=False)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("option", TABLE_FLAGS)
def test_each_flag_sets_its_field(command: str, option: str) -> None:
    flag = FLAGS[option]
    argv = [command]
    for name, text in given(flag).items():
        argv += ["--" + name.replace("_", "-"), text]
    settings = settings_from(build_parser().parse_args(argv))
    assert held(settings, flag) == sample(flag)[1]


@pytest.mark.parametrize("option", TABLE_FLAGS)
def test_each_variable_sets_its_field(option: str, monkeypatch: pytest.MonkeyPatch) -> None:
    flag = FLAGS[option]
    for name, text in given(flag).items():
        monkeypatch.setenv(f"LOGSTORE_{name.upper()}", text)
    settings = settings_from(build_parser().parse_args(["serve"]))
    assert held(settings, flag) == sample(flag)[1]


def test_a_flag_wins_over_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGSTORE_MAX_CHUNK_BYTES", "7")
    args = build_parser().parse_args(["ingest", "--max-chunk-bytes", "5"])
    assert settings_from(args).limits.max_chunk_bytes == 5

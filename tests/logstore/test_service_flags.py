"""The service commands offer every flag of the settings classes, typed and with its choices; the
group is added only to the command that is run, so a client command never imports pydantic."""

from __future__ import annotations

import subprocess
import sys

import pytest

from logstore.cli.main import build_parser, main
from logstore.config import COMPONENTS, Settings
from logstore.config_flags import service_flags
from logstore.roles import registered

COMMANDS = ("serve", *(role.name for role in registered()))


@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_every_flag(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for flag in service_flags():
        assert f"{flag.option} {flag.metavar}" in shown
        assert flag.variable in shown


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--client-address-header", "x-real-ip"],  # not one of the choices
        ["ingest", "--max-chunk-bytes", "1MiB"],  # not an int
        ["compact", "--grace-s", "soon"],  # not a float
    ],
)
def test_a_flag_of_the_wrong_type_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2


def test_settings_has_each_component() -> None:
    settings = Settings()
    for name, model in COMPONENTS.items():
        assert isinstance(getattr(settings, name), model)


def test_client_commands_never_import_pydantic() -> None:
    code = (
        "import sys\n"
        "from logstore.cli.main import build_parser\n"
        "build_parser().parse_args(['cat', 'job-1'])\n"
        "assert not [m for m in sys.modules if m.startswith('pydantic')], 'pydantic imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

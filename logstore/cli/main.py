"""`logstore` entry point: parse flags, dispatch to one command module. The role commands come
from the registered roles (logstore/roles.py), `logstore bench` from the `logstore.commands`
entry points.

Exit codes: 0 success, 1 refused or not found, 2 bad usage or configuration, 3 server or store
unreachable; 141 (128 + SIGPIPE, what a shell reports for grep or cat) when the reader of what
`cat`, `grep` or `tail` print went away, as `| head` does: quietly, with no traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from logstore import __version__
from logstore.cli import cat, grep, push, role, schema, serve, sign_url, tail
from logstore.cli.deferred_parser import DeferredParser
from logstore.errors import BusUnavailable, ConfigError, StoreUnavailable

COMMANDS = "logstore.commands"  # entry points: a function adding one subcommand to the parser
EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
EXIT_READER_GONE = 128 + signal.SIGPIPE
WRITES_STDOUT = frozenset({"cat", "grep", "tail"})  # a closed stdout is their reader leaving


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logstore", description="Distributed log storage and streaming for CI systems."
    )
    parser.add_argument("--version", action="version", version=f"logstore {__version__}")
    # a DeferredParser each: the service flags are added only to the command that is run
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=DeferredParser
    )
    for module in (serve, role, schema, push, cat, grep, tail, sign_url):
        module.register(commands)
    for point in entry_points(group=COMMANDS):  # other distributions' commands: `logstore bench`
        point.load()(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
        if args.command in WRITES_STDOUT:
            sys.stdout.flush()  # here, not at exit, where a closed pipe could not be answered
    except BrokenPipeError:
        if args.command not in WRITES_STDOUT:
            raise  # a pipe to a server or a child broke: a failure, not a reader leaving
        return _reader_gone()
    except ConfigError as exc:
        print(f"logstore: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreUnavailable, BusUnavailable) as exc:
        print(f"logstore: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130
    return code


def _reader_gone() -> int:
    """Stop writing to a stdout nobody reads: what is still buffered goes to /dev/null, so the
    interpreter's last flush has nowhere to fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_READER_GONE


if __name__ == "__main__":
    sys.exit(main())

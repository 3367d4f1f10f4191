"""An ArgumentParser some of whose arguments are added only once it is used: when it parses, or
prints its help or usage. The service flags are read from the settings classes, and pydantic is
slow to import: a client command (`logstore push`) never pays for the flags of `logstore serve`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


class DeferredParser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deferred: list[Callable[[argparse.ArgumentParser], None]] = []

    def defer(self, add: Callable[[argparse.ArgumentParser], None]) -> None:
        """Call `add(self)` before this parser is first used."""
        self._deferred.append(add)

    def complete(self) -> None:
        """Add the deferred arguments now."""
        while self._deferred:
            self._deferred.pop(0)(self)

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        self.complete()
        return super().parse_known_args(*args, **kwargs)

    def format_usage(self) -> str:
        self.complete()
        return super().format_usage()

    def format_help(self) -> str:
        self.complete()
        return super().format_help()

"""List the pins of pyproject.toml that a newer release has passed, as `name pinned -> latest`.

`make outdated` runs it in the project's virtualenv, where what is installed is what is pinned;
it asks the package index through `pip list --outdated` and keeps the packages we pin (the
rest are theirs). Exit 0 either way: being behind is a fact to act on, not a failure.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^;\s]+)")


def pins(pyproject: Path) -> dict[str, str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    found = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        if match:
            found[normal(match[1])] = match[2]
    return found


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> int:
    pinned = pins(Path(__file__).resolve().parent.parent / "pyproject.toml")
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "list", "--outdated", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    behind = [
        (normal(p["name"]), pinned[normal(p["name"])], p["latest_version"])
        for p in json.loads(listing)
        if normal(p["name"]) in pinned
    ]
    for name, pin, latest in sorted(behind):
        print(f"{name} {pin} -> {latest}")
    print(f"{len(behind)} of {len(pinned)} pins behind the index", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

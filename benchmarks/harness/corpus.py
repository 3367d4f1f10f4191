"""The real CI logs in corpus/ (MIT, see each folder's LICENSE): sources for tests and loads."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
_NOT_LOGS = {"LICENSE", "SOURCE.txt", "README.md"}


def corpus_files() -> list[Path]:
    return sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.name not in _NOT_LOGS and not p.name.startswith("LICENSE")
    )


def split(data: bytes, size: int) -> list[bytes]:
    """Cut `data` into pieces of `size` bytes; empty data is one empty piece."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]

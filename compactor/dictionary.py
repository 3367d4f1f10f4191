"""Train a zstd dictionary on sample CI logs. Short logs and the first segment of long ones
compress much better with one; the compactor keeps it only for jobs it actually helps."""

from __future__ import annotations

from collections.abc import Iterable

import zstandard

SAMPLE_BYTES = 2048  # logs are cut into samples of about this size, on line ends
DEFAULT_DICT_BYTES = 64 * 1024


def samples_of(logs: Iterable[bytes]) -> list[bytes | bytearray | memoryview]:
    samples: list[bytes | bytearray | memoryview] = []
    for log in logs:
        start = 0
        while start < len(log):
            end = log.find(b"\n", start + SAMPLE_BYTES)
            end = len(log) if end == -1 else end + 1
            samples.append(log[start:end])
            start = end
    return samples


def train(logs: Iterable[bytes], size: int = DEFAULT_DICT_BYTES) -> bytes:
    """A dictionary of at most `size` bytes; raises ValueError when there is too little to learn from."""
    samples = samples_of(logs)
    if len(samples) < 8:
        raise ValueError(
            f"{len(samples)} samples are too few to train a dictionary: give more or longer logs"
        )
    try:
        trained: bytes = zstandard.train_dictionary(size, samples).as_bytes()
        return trained
    except zstandard.ZstdError as exc:
        raise ValueError(f"training failed: {exc}") from exc

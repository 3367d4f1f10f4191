"""What an archive is made of: segments of whole chunks, each one zstd frame that decodes on its
own, with the byte offset of its first chunk and every chunk's size, so range reads, tails and
zstd passthrough need no full decode."""

from __future__ import annotations

import bisect
import json
import math
import struct
from dataclasses import dataclass, field

import zstandard


@dataclass(frozen=True, slots=True)
class SegmentRef:
    """A segment without its bytes: enough to find the segments a range or clock needs."""

    index: int  # 0, 1, 2, ... in log order
    first_clock: int
    sizes: tuple[int, ...]  # raw size in bytes of each chunk, clocks first_clock, first_clock + 1, ...
    raw_offset: int  # byte offset of the segment's first chunk in the log
    # Server time (unix seconds) each chunk was stored, in the order of `sizes`; an entry is None
    # where it is unknown, and the whole is None for segments archived before times were kept.
    times: tuple[float | None, ...] | None = None

    @property
    def raw_size(self) -> int:
        return sum(self.sizes)

    @property
    def last_clock(self) -> int:
        return self.first_clock + len(self.sizes) - 1


@dataclass(frozen=True, slots=True)
class Segment:
    ref: SegmentRef
    frame: bytes  # one zstd frame of the segment's chunks, concatenated


@dataclass(frozen=True, slots=True)
class ArchiveInfo:
    sha256: str  # hex digest of the whole log as archived
    raw_bytes: int
    compressed_bytes: int
    segments: int
    chunks: int
    final_clock: int
    dictionary_id: int = 0  # 0: plain zstd frames, which any zstd decoder reads
    missing: list[tuple[int, int]] = field(default_factory=list)  # clock ranges never received
    abandoned: bool = False  # given up on without a final chunk: final_clock is the last received

    @property
    def state_name(self) -> str:
        return "abandoned" if self.missing or self.abandoned else "compacted"

    @property
    def prefix_clocks(self) -> int:
        """Clocks from 0 before the first hole: what downloads may show."""
        return self.missing[0][0] if self.missing else self.final_clock + 1


def encode_missing(missing: list[tuple[int, int]], abandoned: bool = False) -> str:
    ranges = [[a, b] for a, b in missing]
    return json.dumps({"missing": ranges, "abandoned": True} if abandoned else ranges)


def decode_missing(text: str | None) -> tuple[list[tuple[int, int]], bool]:
    """(missing ranges, abandoned without a final chunk) from what encode_missing wrote."""
    value = json.loads(text or "[]")
    if isinstance(value, dict):
        return [(int(a), int(b)) for a, b in value["missing"]], bool(value.get("abandoned"))
    return [(int(a), int(b)) for a, b in value], False


def pack_sizes(sizes: tuple[int, ...]) -> bytes:
    return b"".join(size.to_bytes(4, "big") for size in sizes)


def unpack_sizes(blob: bytes) -> tuple[int, ...]:
    return tuple(int.from_bytes(blob[i : i + 4], "big") for i in range(0, len(blob), 4))


def pack_times(times: tuple[float | None, ...] | None) -> bytes | None:
    """8-byte big-endian doubles, NaN for an unknown time; None when no times were kept."""
    if times is None:
        return None
    return struct.pack(f">{len(times)}d", *(math.nan if t is None else t for t in times))


def unpack_times(blob: bytes | None) -> tuple[float | None, ...] | None:
    if not blob:
        return None
    values = struct.unpack(f">{len(blob) // 8}d", blob)
    return tuple(None if math.isnan(value) else value for value in values)


def decompress(segment: Segment, dictionary: bytes | None = None) -> bytes:
    """The segment's raw bytes; raises ValueError when the frame does not match its sizes."""
    zdict = zstandard.ZstdCompressionDict(dictionary) if dictionary else None
    decompressor = zstandard.ZstdDecompressor(dict_data=zdict) if zdict else zstandard.ZstdDecompressor()
    raw = decompressor.decompress(segment.frame, max_output_size=max(1, segment.ref.raw_size))
    if len(raw) != segment.ref.raw_size:
        raise ValueError(f"segment {segment.ref.index}: {len(raw)} bytes, expected {segment.ref.raw_size}")
    return raw


def chunks_of(segment: Segment, dictionary: bytes | None = None) -> list[tuple[int, bytes]]:
    """(clock, bytes) of every chunk in the segment, in order."""
    raw = decompress(segment, dictionary)
    pieces, at = [], 0
    for clock, size in enumerate(segment.ref.sizes, segment.ref.first_clock):
        pieces.append((clock, raw[at : at + size]))
        at += size
    return pieces


def archived_ranges(refs: list[SegmentRef]) -> list[tuple[int, int]]:
    """The inclusive clock ranges an archive's segments hold (a segment never spans a hole)."""
    return [(ref.first_clock, ref.first_clock + len(ref.sizes) - 1) for ref in refs if ref.sizes]


def holds(ranges: list[tuple[int, int]], clock: int) -> bool:
    """Whether `clock` lies in one of `ranges` (ascending, disjoint), as archived_ranges gives."""
    at = bisect.bisect_right(ranges, (clock, math.inf)) - 1
    return at >= 0 and ranges[at][0] <= clock <= ranges[at][1]

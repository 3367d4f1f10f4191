"""Cut a log into archive segments: whole chunks, about `segment_bytes` raw each, every segment
compressed into its own zstd frame (so any one segment decodes without the others)."""

from __future__ import annotations

import zstandard

from logstore.store.archive import Segment, SegmentRef


class Segmenter:
    def __init__(self, level: int, segment_bytes: int) -> None:
        self._compressor = zstandard.ZstdCompressor(level=level, write_content_size=True, write_checksum=True)
        self.segment_bytes = segment_bytes
        self._pieces: list[bytes] = []
        self._first_clock = 0
        self._raw_offset = 0
        self._index = 0

    def add(self, clock: int, data: bytes) -> list[Segment]:
        """Add the next chunk; return the segments it completes. A segment never spans a hole:
        a clock that does not follow the last one starts a new segment."""
        done: list[Segment] = []
        if self._pieces and clock != self._first_clock + len(self._pieces):
            done += self.flush()
        if not self._pieces:
            self._first_clock = clock
        self._pieces.append(data)
        if sum(map(len, self._pieces)) >= self.segment_bytes:
            done += self.flush()
        return done

    def flush(self) -> list[Segment]:
        """The segment in progress, if any (call at the end of the log)."""
        if not self._pieces:
            return []
        sizes = tuple(len(piece) for piece in self._pieces)
        frame = self._compressor.compress(b"".join(self._pieces))
        segment = Segment(SegmentRef(self._index, self._first_clock, sizes, self._raw_offset), frame)
        self._raw_offset += sum(sizes)
        self._index += 1
        self._pieces = []
        return [segment]

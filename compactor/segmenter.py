"""Cut a log into archive segments: whole chunks, about `segment_bytes` raw each, every segment
compressed into its own zstd frame (so any one segment decodes without the others).

With a dictionary, the first segment is compressed both ways and the dictionary is kept for the
whole job only if it makes that segment smaller: logs unlike the training samples are not made
worse by it, and archives without one stay readable by any zstd decoder.
"""

from __future__ import annotations

import zstandard

from logstore.store.archive import Segment, SegmentRef

DICTIONARY_GAIN = 0.98  # use the dictionary when it saves at least 2% on the first segment


class Segmenter:
    def __init__(self, level: int, segment_bytes: int, dictionary: bytes | None = None) -> None:
        self._plain = zstandard.ZstdCompressor(level=level, write_content_size=True, write_checksum=True)
        self._zdict = zstandard.ZstdCompressionDict(dictionary) if dictionary else None
        self._with_dict = (
            zstandard.ZstdCompressor(
                level=level, dict_data=self._zdict, write_content_size=True, write_checksum=True
            )
            if self._zdict
            else None
        )
        self._chosen: zstandard.ZstdCompressor | None = None
        self.dictionary_id = 0
        self.segment_bytes = segment_bytes
        self._pieces: list[bytes] = []
        self._times: list[float | None] = []
        self._first_clock = 0
        self._raw_offset = 0
        self._index = 0

    def add(self, clock: int, data: bytes, stored_at: float | None = None) -> list[Segment]:
        """Add the next chunk (and when it was stored); return the segments it completes. A
        segment never spans a hole: a clock that does not follow the last one starts a new one."""
        done: list[Segment] = []
        if self._pieces and clock != self._first_clock + len(self._pieces):
            done += self.flush()
        if not self._pieces:
            self._first_clock = clock
        self._pieces.append(data)
        self._times.append(stored_at)
        if sum(map(len, self._pieces)) >= self.segment_bytes:
            done += self.flush()
        return done

    def flush(self) -> list[Segment]:
        """The segment in progress, if any (call at the end of the log)."""
        if not self._pieces:
            return []
        sizes = tuple(len(piece) for piece in self._pieces)
        frame = self._compress(b"".join(self._pieces))
        ref = SegmentRef(self._index, self._first_clock, sizes, self._raw_offset, tuple(self._times))
        segment = Segment(ref, frame)
        self._raw_offset += sum(sizes)
        self._index += 1
        self._pieces = []
        self._times = []
        return [segment]

    def _compress(self, raw: bytes) -> bytes:
        if self._chosen is None:
            plain = self._plain.compress(raw)
            self._chosen = self._plain
            if self._with_dict is not None and self._zdict is not None:
                with_dict = self._with_dict.compress(raw)
                if len(with_dict) < len(plain) * DICTIONARY_GAIN:
                    self._chosen = self._with_dict
                    self.dictionary_id = self._zdict.dict_id()
                    return with_dict
            return plain
        return self._chosen.compress(raw)

"""The oldest unstored chunk's age: from the sender's sent_at, for messages held until settled."""

from __future__ import annotations

from ingest.unstored import Unstored
from logstore.bus.messages import chunk_headers


class Message:
    def __init__(self, sent_at: float | None) -> None:
        self.headers = chunk_headers("job", 0, False, sent_at) if sent_at is not None else None


def test_the_oldest_held_chunk_ages_until_it_is_settled() -> None:
    now = [1000.0]
    unstored = Unstored(clock=lambda: now[0])
    assert unstored.oldest_age() == 0.0
    old, new, poison = Message(990.0), Message(998.0), Message(None)
    for message in (old, new, poison):
        unstored.add(message, message.headers)
    assert unstored.oldest_age() == 10.0
    now[0] = 1005.0
    assert unstored.oldest_age() == 15.0  # it grows while the chunk waits, e.g. on a hung write
    unstored.discard([old])
    assert unstored.oldest_age() == 7.0
    unstored.discard([new, poison])
    assert unstored.oldest_age() == 0.0

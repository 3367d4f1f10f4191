"""The oldest unstored chunk's age: from the sender's sent_at, for messages held until settled."""

from __future__ import annotations

from ingest.unstored import Unstored


class Message:
    def __init__(self, sent_at: float | None) -> None:
        self.sent_at = sent_at  # None: a message without a (well-formed) sent_at header


def test_the_oldest_held_chunk_ages_until_it_is_settled() -> None:
    now = [1000.0]
    unstored = Unstored(clock=lambda: now[0])
    assert unstored.oldest_age() == 0.0
    old, new, poison = Message(990.0), Message(998.0), Message(None)
    for message in (old, new, poison):
        unstored.add(message)
    assert unstored.oldest_age() == 10.0
    now[0] = 1005.0
    assert unstored.oldest_age() == 15.0  # it grows while the chunk waits, e.g. on a hung write
    unstored.discard([old])
    assert unstored.oldest_age() == 7.0
    unstored.discard([new, poison])
    assert unstored.oldest_age() == 0.0

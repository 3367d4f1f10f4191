"""Websocket close codes of the tail, as documented in the README."""

from __future__ import annotations

END = 1000  # the log ended: the end message was sent
GOING_AWAY = 1001  # the server is shutting down: reconnect with from_clock = last + 1
INTERNAL_ERROR = 1011
BAD_REQUEST = 4400  # invalid job id or from_clock
UNAUTHORIZED = 4401  # a read token is required
FORBIDDEN = 4403  # the token or signed URL is not valid
NOT_FOUND = 4404  # not sent: a private job without credentials gets a silent tail (silent_tail.py)
TOO_SLOW = 4408  # the viewer took no data for send_timeout_s: reconnect with from_clock
TOO_MANY = 4429  # too many viewers on this process or concurrent tails from this client address
STORE_UNAVAILABLE = 4503  # the store is down: reconnect later with from_clock

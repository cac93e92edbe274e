"""How much one token may ask of the team server: requests a minute, and bytes a request."""

from __future__ import annotations

import time

from starlette.types import Receive


class RateLimit:
    """A token bucket per key: `per_minute` requests a minute, a whole minute's worth at once at most."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[int, tuple[float, float]] = {}

    def wait_s(self, key: int, now: float | None = None) -> float:
        """0 when the request may go ahead (and it is counted), else the seconds until it may."""
        now = time.monotonic() if now is None else now
        level, then = self._buckets.get(key, (self.capacity, now))
        level = min(self.capacity, level + (now - then) * self.rate)
        if level >= 1.0:
            self._buckets[key] = (level - 1.0, now)
            return 0.0
        self._buckets[key] = (level, now)
        return (1.0 - level) / self.rate


async def read_body(receive: Receive, headers: dict[str, str], limit: int) -> tuple[bytes | None, Receive]:
    """The whole body, or None past `limit` bytes (declared or sent); then the receive to use after it."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None, receive
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client left; the app will see that as its next message
        chunks += message.get("body", b"")
        if len(chunks) > limit:
            return None, receive
        if not message.get("more_body", False):
            break
    return bytes(chunks), receive

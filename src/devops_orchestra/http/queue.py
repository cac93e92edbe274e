"""The bounded queue for tool calls that do real work: a few run, a few wait, the rest hear "busy, retry after"."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

# Tools answered from the run store or a listing never queue; every other tool call (scans, and any agent added
# later) takes a place in the scan queue, so a new heavy tool cannot bypass it by being forgotten here.
LIGHT_TOOLS = frozenset({"scan_history", "compare_runs", "list_agents"})


class Busy(Exception):
    """Every scan slot and every place in the queue is taken."""

    def __init__(self, running: int, waiting: int, retry_after_s: int) -> None:
        scans = "1 scan" if running == 1 else f"{running} scans"
        super().__init__(f"busy: {scans} running and {waiting} waiting; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class Gone(Exception):
    """The client left while its call waited for a slot."""


class ScanQueue:
    """At most `slots` scans at once and `depth` waiting; anyone past that is told how long to wait."""

    def __init__(self, slots: int, depth: int) -> None:
        self.slots = slots
        self.depth = depth
        self._semaphore = asyncio.Semaphore(slots)
        self._admitted = 0
        self._durations: deque[float] = deque([10.0], maxlen=20)  # a guess until scans have been timed

    @property
    def running(self) -> int:
        """Scans holding a slot now."""
        return min(self._admitted, self.slots)

    @property
    def waiting(self) -> int:
        """Scans waiting for a slot now."""
        return max(0, self._admitted - self.slots)

    def retry_after_s(self) -> int:
        """Roughly when a place frees up: the queue ahead, in rounds of `slots`, times a recent scan's length."""
        rounds = (self.waiting + self.slots) / self.slots
        typical = sum(self._durations) / len(self._durations)
        return max(1, math.ceil(typical * rounds / 2))  # on average half of a running scan is left

    @asynccontextmanager
    async def slot(self, gone: Callable[[], Awaitable[object]] | None = None) -> AsyncIterator[None]:
        """A place to run in; raises Busy when none is free or queued, Gone when `gone()` returns first."""
        if self._admitted >= self.slots + self.depth:
            raise Busy(self.running, self.waiting, self.retry_after_s())
        self._admitted += 1
        try:
            await self._acquire(gone)
            try:
                started = time.monotonic()
                yield
                self._durations.append(time.monotonic() - started)
            finally:
                self._semaphore.release()
        finally:
            self._admitted -= 1

    async def _acquire(self, gone: Callable[[], Awaitable[object]] | None) -> None:
        """Wait for a slot, unless `gone()` returns first (raise Gone then, holding nothing)."""
        if gone is None or not self._semaphore.locked():
            await self._semaphore.acquire()
            return
        acquire = asyncio.ensure_future(self._semaphore.acquire())
        left = asyncio.ensure_future(gone())
        try:
            await asyncio.wait({acquire, left}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # we are cancelled ourselves (shutdown): hold nothing
            left.cancel()
            if acquire.done() and not acquire.cancelled():
                self._semaphore.release()
            acquire.cancel()
            raise
        client_left = left.done() and not left.cancelled()
        if client_left:
            left.exception()  # retrieved, so that asyncio does not warn about it
        left.cancel()
        if not acquire.done():
            acquire.cancel()  # a slot given to it meanwhile goes to the next in line (asyncio.Semaphore does that)
            raise Gone()
        if client_left:  # the slot and the leaving came together: give the slot back
            self._semaphore.release()
            raise Gone()

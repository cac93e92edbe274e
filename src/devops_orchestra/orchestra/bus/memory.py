"""The `memory://` engine: streams and consumer groups inside this process (asyncio), no server needed.

It keeps Redis Streams' semantics so that one contract suite holds for both: entries stay in their topic once
acknowledged until `trim` drops them (entry ids go on from where they were), a group has a read position and a
table of pending entries (consumer, deliveries, last delivery), a failed entry stays pending until any
consumer's next `read` takes it, and a reclaimer takes what has been idle too long. The shared state (keys,
leases, runs) is in an SQLite file, so other shells of the machine see it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.models.events import Envelope
from devops_orchestra.orchestra.bus import base
from devops_orchestra.orchestra.bus.base import BusStatus, DeadLetter, Delivery, GroupStatus, Published
from devops_orchestra.orchestra.bus.local_state import LocalState

FAILED = float("-inf")  # the `since` of a failed entry: idle forever, so the next read or reclaim takes it


@dataclass
class _Pending:
    consumer: str
    deliveries: int
    since: float  # time.monotonic() of the last delivery or renewal
    error: str = ""  # the last failure, carried into the dead letter


@dataclass
class _Group:
    position: int = 0  # entries before it have been delivered to this group
    consumers: set[str] = field(default_factory=set)
    pending: dict[str, _Pending] = field(default_factory=dict)  # by entry id, oldest first


@dataclass
class _Topic:
    entries: list[Envelope] = field(default_factory=list)  # entry id n is entries[n - 1 - dropped]
    groups: dict[str, _Group] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)
    dropped: int = 0  # entries trimmed from the front

    @property
    def last_id(self) -> int:
        return self.dropped + len(self.entries)

    def event(self, entry_id: str) -> Envelope:
        return self.entries[int(entry_id) - 1 - self.dropped]

    def needed(self) -> int:
        """The lowest entry id some group still needs: its first pending one, else the first it has not read."""
        return min((min([int(i) for i in g.pending] + [g.position + 1]) for g in self.groups.values()),
                   default=self.last_id + 1)


class MemoryBus:
    def __init__(self, url: str, state_path: Path, *, max_deliveries: int) -> None:
        self.url = url
        self.max_deliveries = max_deliveries
        self._state = LocalState(state_path)
        self._topics: dict[str, _Topic] = {}
        self._changed = asyncio.Condition()  # notified when an entry becomes deliverable

    # --- streams ---

    async def publish(self, topic: str, event: Envelope) -> str:
        entry_id = self._append(topic, event)
        await self._notify()
        return entry_id

    def _append(self, topic: str, event: Envelope) -> str:
        state = self._topics.setdefault(topic, _Topic())
        state.entries.append(event)
        return str(state.last_id)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def ensure_group(self, topic: str, group: str) -> None:
        state = self._topics.setdefault(topic, _Topic())
        state.groups.setdefault(group, _Group(position=state.dropped))  # at the first entry not trimmed

    def _group(self, topic: str, group: str) -> _Group:
        found = self._topics.get(topic, _Topic()).groups.get(group)
        if found is None:
            raise OrchestraError(f"no consumer group {group!r} on topic {topic!r}: call ensure_group first")
        return found

    async def read(self, topic: str, group: str, consumer: str, *, count: int, block_s: float) -> list[Delivery]:
        state = self._group(topic, group)
        state.consumers.add(consumer)
        deadline = time.monotonic() + block_s
        async with self._changed:
            while not (taken := self._take(topic, group, consumer, count)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    break
        return taken

    def _take(self, topic: str, group: str, consumer: str, count: int) -> list[Delivery]:
        """Failed entries first (as Redis hands them out again before new ones), then new entries."""
        state, last_id = self._group(topic, group), self._topics[topic].last_id
        failed = [entry_id for entry_id, p in state.pending.items() if p.since == FAILED][:count]
        taken = [self._deliver(topic, group, consumer, entry_id) for entry_id in failed]
        while len(taken) < count and state.position < last_id:
            state.position += 1
            state.pending[str(state.position)] = _Pending(consumer, 0, 0.0)
            taken.append(self._deliver(topic, group, consumer, str(state.position)))
        return taken

    def _deliver(self, topic: str, group: str, consumer: str, entry_id: str) -> Delivery:
        pending = self._group(topic, group).pending[entry_id]
        pending.consumer, pending.since = consumer, time.monotonic()
        pending.deliveries += 1
        event = self._topics[topic].event(entry_id)
        return Delivery(topic, group, entry_id, event, pending.deliveries, consumer)

    async def ack(self, delivery: Delivery, then: Published | None = None) -> None:
        # No await between the acknowledgement and the follow-ups: no other task sees one without the other.
        self._group(delivery.topic, delivery.group).pending.pop(delivery.entry_id, None)
        for topic, event in then.events if then else []:
            self._append(topic, event)
        await self._notify()

    async def fail(self, delivery: Delivery, error: str) -> None:
        pending = self._group(delivery.topic, delivery.group).pending.get(delivery.entry_id)
        if pending is None:  # acknowledged or dead-lettered meanwhile
            return
        pending.error = error
        if pending.deliveries >= self.max_deliveries:
            self._dead_letter(delivery.topic, delivery.group, delivery.entry_id)
            return
        pending.since = FAILED
        await self._notify()

    def _dead_letter(self, topic: str, group: str, entry_id: str) -> None:
        pending = self._group(topic, group).pending.pop(entry_id)
        event = self._topics[topic].event(entry_id)
        self._topics[topic].dead.append(DeadLetter(topic, group, entry_id, event, pending.deliveries, pending.error))

    async def renew(self, delivery: Delivery) -> None:
        pending = self._group(delivery.topic, delivery.group).pending.get(delivery.entry_id)
        if pending is not None and pending.consumer == delivery.consumer and pending.since != FAILED:
            pending.since = time.monotonic()

    async def reclaim(self, topic: str, group: str, consumer: str, *, min_idle_s: float, count: int) -> list[Delivery]:
        state = self._group(topic, group)
        state.consumers.add(consumer)
        now = time.monotonic()
        idle = [entry_id for entry_id, p in state.pending.items() if now - p.since > min_idle_s]
        taken = []
        for entry_id in idle[:count]:
            pending = state.pending[entry_id]
            if pending.deliveries >= self.max_deliveries:
                pending.error = base.stopped_renewing(pending.consumer, pending.deliveries, pending.error)
                self._dead_letter(topic, group, entry_id)
            else:
                taken.append(self._deliver(topic, group, consumer, entry_id))
        return taken

    async def dead_letters(self, topic: str, *, limit: int = 100) -> list[DeadLetter]:
        return self._topics.get(topic, _Topic()).dead[::-1][:limit]

    async def trim(self, topic: str, *, keep: int, keep_dead: int) -> int:
        state = self._topics.get(topic)
        if state is None:
            return 0
        cut = min(state.needed(), state.last_id + 1 - keep)  # ids below it go
        went = max(0, cut - 1 - state.dropped)
        del state.entries[:went]
        state.dropped += went
        dead = max(0, len(state.dead) - keep_dead)
        del state.dead[:dead]
        return went + dead

    async def status(self) -> BusStatus:
        groups = [
            GroupStatus(
                topic=name,
                group=group,
                consumers=len(state.consumers),
                pending=len(state.pending),
                lag=topic.last_id - state.position,
            )
            for name, topic in sorted(self._topics.items())
            for group, state in sorted(topic.groups.items())
        ]
        return BusStatus(
            url=self.url,
            engine="memory",
            topics={name: len(topic.entries) for name, topic in sorted(self._topics.items())},
            groups=groups,
            dead_letters={name: len(topic.dead) for name, topic in sorted(self._topics.items()) if topic.dead},
        )

    # --- shared state ---

    async def set_once(self, key: str, value: str, *, ttl_s: float | None = None) -> bool:
        return await self._state.set_once(key, value, ttl_s)

    async def get(self, key: str) -> str | None:
        return await self._state.get(key)

    async def put(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        await self._state.put(key, value, ttl_s)

    async def keys(self, prefix: str) -> list[str]:
        return await self._state.keys(prefix)

    async def index_add(self, name: str, member: str, score: float, *, drop_below: float | None = None) -> None:
        await self._state.index_add(name, member, score, drop_below)

    async def index_newest(self, name: str, limit: int) -> list[str]:
        return await self._state.index_newest(name, limit)

    async def acquire(self, lease: str, owner: str, *, ttl_s: float) -> bool:
        return await self._state.acquire(lease, owner, ttl_s)

    async def release(self, lease: str, owner: str) -> None:
        await self._state.release(lease, owner)

    async def close(self) -> None:
        """Nothing to close: the state file is opened per call."""


"""The one interface every bus engine implements (`memory://`, `redis://`); stages and workers see only this.

Delivery is at least once. A consumer group per stage reads a topic; each entry goes to one consumer of the
group and stays pending until acknowledged. An entry whose handler failed (`fail`) or whose consumer died (its
lease not renewed for `min_idle`, then `reclaim`ed by another consumer) is delivered again; after
`max_deliveries` it moves to the topic's dead letters with its last error, and the rest keeps flowing.

Besides the streams, an engine keeps the small shared state the orchestra needs on every machine: keys set
once (idempotency of a stage's effect), leases (one worker per ref), documents (pipeline runs), each with an
optional expiry, and indexes (members by score: the runs by creation time). Streams are trimmed by `trim`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from devops_orchestra.models.base import OutputModel
from devops_orchestra.models.events import Envelope

DEFAULT_MAX_DELIVERIES = 5


@dataclass(frozen=True)
class Delivery:
    """One entry handed to one consumer: acknowledge it, fail it, or keep its lease alive while working."""

    topic: str
    group: str
    entry_id: str  # the engine's id of the entry in the topic's stream
    event: Envelope
    deliveries: int  # 1 on the first delivery
    consumer: str  # who holds it: `renew` keeps it only while it is still this consumer's


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    group: str
    entry_id: str
    event: Envelope
    deliveries: int
    error: str


# One consumer group on one topic, as `bus status` shows it.
class GroupStatus(OutputModel):
    topic: str
    group: str
    consumers: int
    pending: int  # delivered, not yet acknowledged
    lag: int  # in the stream, not yet delivered to this group


# What `bus status` prints.
class BusStatus(OutputModel):
    url: str  # without credentials
    engine: str
    topics: dict[str, int]  # entries per topic stream
    groups: list[GroupStatus]
    dead_letters: dict[str, int]  # per topic


@dataclass
class Published:
    """Events to publish together with an acknowledgement (one transaction where the engine has them)."""

    events: list[tuple[str, Envelope]] = field(default_factory=list)  # (topic, event)


def stopped_renewing(consumer: str, deliveries: int, error: str) -> str:
    """The error of an entry dead-lettered because its last consumer died or hung with it."""
    last = f"; the last failure before that: {error}" if error else ""
    return f"delivered {deliveries} times; its last consumer {consumer!r} stopped renewing it{last}"


def public_url(url: str) -> str:
    """url without its user name and password, fit for a log or a status line."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class Bus(Protocol):
    url: str  # without credentials
    max_deliveries: int  # deliveries of one entry before it is dead-lettered (open_bus's max_deliveries)

    # --- streams ---
    async def publish(self, topic: str, event: Envelope) -> str:
        """Append an event to a topic; returns the entry id."""
        ...

    async def ensure_group(self, topic: str, group: str) -> None:
        """Create the consumer group if missing; a new group starts at the beginning of the topic."""
        ...

    async def read(self, topic: str, group: str, consumer: str, *, count: int, block_s: float) -> list[Delivery]:
        """Entries for this consumer, at most `count`: failed ones first (same entry id, deliveries counted on),
        else new ones, waiting up to block_s for the first. OrchestraError when the group does not exist."""
        ...

    async def ack(self, delivery: Delivery, then: Published | None = None) -> None:
        """Done with an entry; `then`'s events are published in the same transaction (none or all)."""
        ...

    async def fail(self, delivery: Delivery, error: str) -> None:
        """The handler failed: the next `read` of any consumer of the group gets the entry again, or, when it has
        been delivered max_deliveries times, it is dead-lettered with `error`. Ignored when no longer ours."""
        ...

    async def renew(self, delivery: Delivery) -> None:
        """Still working on it: reset its idle time so no reclaimer takes it. Ignored when the entry is no longer
        this delivery's consumer's (reclaimed by another), acknowledged or failed."""
        ...

    async def reclaim(self, topic: str, group: str, consumer: str, *, min_idle_s: float, count: int) -> list[Delivery]:
        """Entries of this group idle longer than min_idle_s (their consumer died), now this consumer's; those
        already delivered max_deliveries times are dead-lettered instead, naming the consumer that held them."""
        ...

    async def dead_letters(self, topic: str, *, limit: int = 100) -> list[DeadLetter]:
        """The topic's newest dead letters, newest first."""
        ...

    async def trim(self, topic: str, *, keep: int, keep_dead: int) -> int:
        """Drop the topic's entries that every consumer group has received and acknowledged (none pending at or
        after them, none undelivered), keeping at least its newest `keep`; and its dead letters but the newest
        `keep_dead`. A topic without groups keeps its newest `keep`. Returns how many entries went (both kinds)."""
        ...

    async def status(self) -> BusStatus: ...

    # --- shared state ---
    async def set_once(self, key: str, value: str, *, ttl_s: float | None = None) -> bool:
        """Set key if absent; True when this call set it (the effect is ours to do)."""
        ...

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        """Set key (replacing its value and expiry); gone after ttl_s when given."""
        ...

    async def keys(self, prefix: str) -> list[str]: ...

    async def index_add(self, name: str, member: str, score: float, *, drop_below: float | None = None) -> None:
        """Add member to the index `name` with score (replacing its score), and drop the members scored below
        drop_below (the index's retention)."""
        ...

    async def index_newest(self, name: str, limit: int) -> list[str]:
        """The members of index `name` with the highest scores, highest first, at most limit."""
        ...

    async def acquire(self, lease: str, owner: str, *, ttl_s: float) -> bool:
        """Take a lease if free, expired or already ours (then renewed)."""
        ...

    async def release(self, lease: str, owner: str) -> None:
        """Give a lease back, only if it is still ours."""
        ...

    async def close(self) -> None: ...

"""The `redis://` engine: Redis Streams through redis-py's asyncio client, so workers on many machines share it.

A stream per topic (`orchestra:stream:<topic>`), a consumer group per stage. Redis keeps each pending entry's
consumer, idle time and delivery count (XPENDING); we build on those, so that a dead letter comes after exactly
N deliveries whether the earlier ones failed or their worker died:
- `fail` keeps the entry pending but sets its idle time to FAILED_IDLE_MS (XCLAIM IDLE, to the same consumer,
  JUSTID so that the count is not bumped): the next `read` of any consumer of the group claims it before new
  entries. Its id stays the same and no other group sees it again (a re-XADD would redeliver it to every group).
- `reclaim` lists the idle entries with their consumer and count (XPENDING IDLE), then claims them with XCLAIM and
  the same minimum idle time, which Redis checks again atomically: two reclaimers never both get one entry. (We
  read XPENDING first rather than use XAUTOCLAIM to know, before the claim, who held the entry and how often it
  was delivered: an entry at the limit is dead-lettered naming the consumer that stopped renewing it.)
- an entry dead-lettered is acknowledged and appended to `orchestra:dead:<topic>` with its error in one MULTI/EXEC.
- `trim` drops, in one Lua script, what every group has read and acknowledged (XTRIM MINID with the lowest id a
  group still needs: its first pending entry, else the one after its last delivered), keeping the newest `keep`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.models.events import Envelope
from devops_orchestra.orchestra.bus import base
from devops_orchestra.orchestra.bus.base import BusStatus, DeadLetter, Delivery, GroupStatus, Published

P = ParamSpec("P")
R = TypeVar("R")
PREFIX = "orchestra:"
# An idle time no live consumer reaches (about 31 years), under the epoch in ms as XCLAIM IDLE requires.
FAILED_IDLE_MS = 10**12
# Renew (idle 0) or mark failed (idle FAILED_IDLE_MS) an entry only while it is still this consumer's, and
# never renew a failed one (a late renewal would hide it from the next read); returns how often it has been
# delivered, or 0 when it is not ours to touch (another consumer has it, or it is acknowledged).
CLAIM_IF_OURS = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
if ARGV[4] == '0' and p[1][3] >= tonumber(ARGV[5]) then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[4], 'JUSTID')
return p[1][4]
"""
# Owners' leases: renewed or released only by the owner that holds them.
ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""
# Entries after a group's last delivered one. Redis's own `lag` is unknown (nil) after it replays its
# append-only file, so `status` counts them here instead; counted in Redis, without sending the entries over.
LAG = "return #redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+')"
# Trim a topic (KEYS[1]) to what some group still needs, keeping its newest ARGV[1] entries whatever, and its
# dead letters (KEYS[2]) to the newest ARGV[2]; how many entries went. In one script, so that no read or
# acknowledgement comes between the groups' positions and the XTRIM: an entry a group has not read never goes.
TRIM = """
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq), ms
end
local function below(a, b)
  local ams, aseq = parse(a)
  local bms, bseq = parse(b)
  return ams < bms or (ams == bms and aseq < bseq)
end
local function after(id)
  local _, seq, ms = parse(id)
  return ms .. '-' .. string.format('%.0f', seq + 1)
end
local went = redis.call('XTRIM', KEYS[2], 'MAXLEN', ARGV[2])
local keep = tonumber(ARGV[1])
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', keep + 1)
if #newest <= keep then return went end
local minid = keep > 0 and newest[keep][1] or after(newest[1][1])
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
  local needed = after(info['last-delivered-id'])
  if info['pending'] > 0 then needed = redis.call('XPENDING', KEYS[1], info['name'])[2] end
  if below(needed, minid) then minid = needed end
end
return went + redis.call('XTRIM', KEYS[1], 'MINID', minid)
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def stream_key(topic: str) -> str:
    return f"{PREFIX}stream:{topic}"


def dead_key(topic: str) -> str:
    return f"{PREFIX}dead:{topic}"


def errors_key(topic: str, group: str) -> str:
    """The last failure of each pending entry of a group, for its dead letter."""
    return f"{PREFIX}errors:{topic}:{group}"


def kv_key(key: str) -> str:
    return f"{PREFIX}kv:{key}"


def index_key(name: str) -> str:
    return f"{PREFIX}index:{name}"


def lease_key(lease: str) -> str:
    return f"{PREFIX}lease:{lease}"


def ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


Method = Callable[Concatenate['RedisBus', P], Coroutine[Any, Any, R]]


def reaching(method: Method[P, R]) -> Method[P, R]:
    """Redis's connection errors as one message a person can act on, instead of a traceback."""

    @functools.wraps(method)
    async def wrapper(bus: RedisBus, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(bus, *args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise OrchestraError(
                f"cannot reach the bus at {bus.url} ({exc}): start Redis there, check the host, port and password "
                "in the URL, or run everything in this process with --bus memory://"
            ) from exc
        except ResponseError as exc:
            if str(exc).startswith("NOGROUP"):
                raise OrchestraError(f"no such consumer group on the bus at {bus.url}: {exc}") from exc
            raise

    return wrapper


class RedisBus:
    def __init__(self, url: str, *, max_deliveries: int) -> None:
        self.url = base.public_url(url)
        self.max_deliveries = max_deliveries
        # A few quick retries ride over a broker restart; an absent broker is reported within a second or two.
        retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3)
        self._redis = aioredis.Redis.from_url(url, decode_responses=True, retry=retry, socket_connect_timeout=2)
        self._claim_if_ours = self._redis.register_script(CLAIM_IF_OURS)
        self._acquire = self._redis.register_script(ACQUIRE)
        self._release = self._redis.register_script(RELEASE)
        self._lag = self._redis.register_script(LAG)
        self._trim = self._redis.register_script(TRIM)

    # --- streams ---

    @reaching
    async def publish(self, topic: str, event: Envelope) -> str:
        return str(await self._redis.xadd(stream_key(topic), {"event": event.model_dump_json()}))

    @reaching
    async def ensure_group(self, topic: str, group: str) -> None:
        try:
            await self._redis.xgroup_create(stream_key(topic), group, id="0", mkstream=True)
        except ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):  # the group exists: nothing to do
                raise

    @reaching
    async def read(self, topic: str, group: str, consumer: str, *, count: int, block_s: float) -> list[Delivery]:
        failed = await self._claim(topic, group, consumer, min_idle_ms=FAILED_IDLE_MS, count=count)
        if failed:
            return failed
        block = ms(block_s) if block_s > 0 else None  # BLOCK 0 would wait forever
        answer: Any = await self._redis.xreadgroup(group, consumer, {stream_key(topic): ">"}, count=count, block=block)
        entries = parse_entries(answer[0][1] if answer else [])
        return [self._delivery(topic, group, consumer, entry_id, fields, 1) for entry_id, fields in entries]

    def _delivery(
        self, topic: str, group: str, consumer: str, entry_id: str, fields: dict[str, str], deliveries: int
    ) -> Delivery:
        return Delivery(topic, group, entry_id, Envelope.model_validate_json(fields["event"]), deliveries, consumer)

    async def _claim(self, topic: str, group: str, consumer: str, *, min_idle_ms: int, count: int) -> list[Delivery]:
        """The group's entries idle at least min_idle_ms, now this consumer's; dead letters for those at the limit."""
        key = stream_key(topic)
        idle: Any = await self._redis.xpending_range(key, group, min="-", max="+", count=count, idle=min_idle_ms)
        if not idle:
            return []
        held = {str(p["message_id"]): (str(p["consumer"]), int(p["times_delivered"])) for p in idle}
        claimed: Any = await self._redis.xclaim(key, group, consumer, min_idle_ms, list(held))
        taken = []
        for entry_id, fields in parse_entries(claimed):
            holder, deliveries = held[entry_id]
            if deliveries < self.max_deliveries:
                taken.append(self._delivery(topic, group, consumer, entry_id, fields, deliveries + 1))
                continue
            error = str(await self._redis.hget(errors_key(topic, group), entry_id) or "")
            dead = DeadLetter(
                topic, group, entry_id, Envelope.model_validate_json(fields["event"]), deliveries,
                base.stopped_renewing(holder, deliveries, error),
            )
            await self._dead_letter(dead)
        return taken

    async def _dead_letter(self, dead: DeadLetter) -> None:
        async with self._redis.pipeline(transaction=True) as tx:
            tx.xack(stream_key(dead.topic), dead.group, dead.entry_id)
            tx.hdel(errors_key(dead.topic, dead.group), dead.entry_id)
            tx.xadd(dead_key(dead.topic), {
                "event": dead.event.model_dump_json(), "group": dead.group, "entry_id": dead.entry_id,
                "deliveries": str(dead.deliveries), "error": dead.error,
            })
            await tx.execute()

    @reaching
    async def ack(self, delivery: Delivery, then: Published | None = None) -> None:
        # One MULTI/EXEC: no client sees the acknowledgement without the follow-ups, and a connection lost before
        # EXEC applies neither. Redis does not roll back a command that fails inside EXEC (a key holding something
        # other than a stream, say); nothing but this engine writes the keys under orchestra:, always as streams.
        async with self._redis.pipeline(transaction=True) as tx:
            tx.xack(stream_key(delivery.topic), delivery.group, delivery.entry_id)
            tx.hdel(errors_key(delivery.topic, delivery.group), delivery.entry_id)
            for topic, event in then.events if then else []:
                tx.xadd(stream_key(topic), {"event": event.model_dump_json()})
            await tx.execute()

    @reaching
    async def fail(self, delivery: Delivery, error: str) -> None:
        await self._redis.hset(errors_key(delivery.topic, delivery.group), delivery.entry_id, error)
        deliveries = await self._set_idle_if_ours(delivery, FAILED_IDLE_MS)
        if deliveries >= self.max_deliveries:
            dead = DeadLetter(delivery.topic, delivery.group, delivery.entry_id, delivery.event, deliveries, error)
            await self._dead_letter(dead)

    @reaching
    async def renew(self, delivery: Delivery) -> None:
        await self._set_idle_if_ours(delivery, 0)

    async def _set_idle_if_ours(self, delivery: Delivery, idle_ms: int) -> int:
        """How often the entry has been delivered, 0 when it is not this delivery's consumer's (see CLAIM_IF_OURS)."""
        args: list[str | int] = [delivery.group, delivery.consumer, delivery.entry_id, idle_ms, FAILED_IDLE_MS]
        return int(await self._claim_if_ours([stream_key(delivery.topic)], args))

    @reaching
    async def reclaim(self, topic: str, group: str, consumer: str, *, min_idle_s: float, count: int) -> list[Delivery]:
        return await self._claim(topic, group, consumer, min_idle_ms=ms(min_idle_s), count=count)

    @reaching
    async def dead_letters(self, topic: str, *, limit: int = 100) -> list[DeadLetter]:
        entries = parse_entries(await self._redis.xrevrange(dead_key(topic), count=limit))
        return [
            DeadLetter(
                topic, fields["group"], fields["entry_id"], Envelope.model_validate_json(fields["event"]),
                int(fields["deliveries"]), fields["error"],
            )
            for _, fields in entries
        ]

    @reaching
    async def trim(self, topic: str, *, keep: int, keep_dead: int) -> int:
        return int(await self._trim([stream_key(topic), dead_key(topic)], [keep, keep_dead]))

    @reaching
    async def status(self) -> BusStatus:
        topics, groups = {}, []
        for topic in await self._topics("stream"):
            topics[topic] = int(await self._redis.xlen(stream_key(topic)))
            infos: Any = await self._redis.xinfo_groups(stream_key(topic))
            for info in infos:
                groups.append(GroupStatus(
                    topic=topic, group=info["name"], consumers=info["consumers"], pending=info["pending"],
                    lag=await self._group_lag(topic, info["lag"], info["last-delivered-id"]),
                ))
        dead = {topic: int(await self._redis.xlen(dead_key(topic))) for topic in await self._topics("dead")}
        return BusStatus(url=self.url, engine="redis", topics=topics, groups=groups, dead_letters=dead)

    async def _group_lag(self, topic: str, known: int | None, last_delivered: str) -> int:
        return known if known is not None else int(await self._lag([stream_key(topic)], [last_delivered]))

    async def _topics(self, kind: str) -> list[str]:
        start = f"{PREFIX}{kind}:"
        return sorted([key.removeprefix(start) async for key in self._redis.scan_iter(match=glob_escape(start) + "*")])

    # --- shared state ---

    @reaching
    async def set_once(self, key: str, value: str, *, ttl_s: float | None = None) -> bool:
        px = None if ttl_s is None else ms(ttl_s)
        return bool(await self._redis.set(kv_key(key), value, nx=True, px=px))

    @reaching
    async def get(self, key: str) -> str | None:
        value = await self._redis.get(kv_key(key))
        return None if value is None else str(value)

    @reaching
    async def put(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        await self._redis.set(kv_key(key), value, px=None if ttl_s is None else ms(ttl_s))

    @reaching
    async def keys(self, prefix: str) -> list[str]:
        start = kv_key("")
        return sorted([
            key.removeprefix(start) async for key in self._redis.scan_iter(match=glob_escape(kv_key(prefix)) + "*")
        ])

    @reaching
    async def index_add(self, name: str, member: str, score: float, *, drop_below: float | None = None) -> None:
        async with self._redis.pipeline(transaction=True) as tx:
            tx.zadd(index_key(name), {member: score})
            if drop_below is not None:
                tx.zremrangebyscore(index_key(name), "-inf", f"({drop_below!r}")
            await tx.execute()

    @reaching
    async def index_newest(self, name: str, limit: int) -> list[str]:
        if limit <= 0:  # ZRANGE 0 -1 would be all of them
            return []
        return [str(m) for m in await self._redis.zrange(index_key(name), 0, limit - 1, desc=True)]

    @reaching
    async def acquire(self, lease: str, owner: str, *, ttl_s: float) -> bool:
        return bool(await self._acquire([lease_key(lease)], [owner, ms(ttl_s)]))

    @reaching
    async def release(self, lease: str, owner: str) -> None:
        await self._release([lease_key(lease)], [owner])

    async def close(self) -> None:
        await self._redis.aclose()


def glob_escape(text: str) -> str:
    """text matched literally by SCAN MATCH."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def parse_entries(raw: Any) -> list[tuple[str, dict[str, str]]]:
    """[(entry id, {field: value})] from an answer of XRANGE, XCLAIM or XREADGROUP (one stream's part)."""
    return [(str(entry_id), {str(k): str(v) for k, v in fields.items()}) for entry_id, fields in raw or [] if fields]

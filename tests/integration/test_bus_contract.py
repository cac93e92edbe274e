"""One contract for every bus engine: memory:// and redis:// (a real redis-server) pass the same tests."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.models.events import CodePush, Envelope
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.bus.base import Bus, Delivery, Published
from tests.helpers import RedisServer, free_port, redis_server

MAX = 3  # deliveries before a dead letter


def event(n: int) -> Envelope:
    """The same event for the same n, so that what was read compares equal to what was published."""
    return Envelope(
        id=f"event-{n}", type="code_push", repo="acme/shop", ref="main", sha=f"{n:040x}", run_id=f"run-{n}",
        correlation_id="c", time=datetime(2026, 1, 1, tzinfo=UTC), payload=CodePush(source="."),
    )


def shas(deliveries: list[Delivery]) -> list[str]:
    return [d.event.sha for d in deliveries]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as started:
        yield started


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Bus]:
    if request.param == "memory":
        url = f"memory://{tmp_path}/state.sqlite"
    else:
        server: RedisServer = request.getfixturevalue("server")
        redis.Redis.from_url(server.url).flushall()  # one server for the module, a clean one for each test
        url = server.url
    opened = open_bus(url, max_deliveries=MAX)
    yield opened
    await opened.close()


async def test_published_entries_are_read_once_and_acknowledged(bus: Bus) -> None:
    ids = [await bus.publish("push", event(n)) for n in (1, 2)]
    await bus.ensure_group("push", "analysis")  # a new group starts at the beginning of the topic
    got = await bus.read("push", "analysis", "w1", count=10, block_s=0.1)
    assert [(d.entry_id, d.event, d.deliveries, d.consumer) for d in got] == [
        (ids[0], event(1), 1, "w1"), (ids[1], event(2), 1, "w1")]
    for delivery in got:
        await bus.ack(delivery)
    assert await bus.read("push", "analysis", "w1", count=10, block_s=0.05) == []
    (group,) = (await bus.status()).groups
    assert (group.pending, group.lag) == (0, 0)


async def test_consumers_of_a_group_share_its_entries(bus: Bus) -> None:
    await bus.ensure_group("push", "analysis")
    for n in range(4):
        await bus.publish("push", event(n))
    first = await bus.read("push", "analysis", "w1", count=2, block_s=0.1)
    second = await bus.read("push", "analysis", "w2", count=2, block_s=0.1)
    assert sorted(shas(first) + shas(second)) == [event(n).sha for n in range(4)]
    assert {d.consumer for d in second} == {"w2"}


async def test_every_group_gets_every_entry(bus: Bus) -> None:
    for group in ("analysis", "chatops"):
        await bus.ensure_group("push", group)
    for n in range(3):
        await bus.publish("push", event(n))
    for group in ("analysis", "chatops"):
        assert shas(await bus.read("push", group, "w1", count=10, block_s=0.1)) == [event(n).sha for n in range(3)]


async def test_read_waits_for_an_entry(bus: Bus) -> None:
    await bus.ensure_group("push", "analysis")
    reading = asyncio.create_task(bus.read("push", "analysis", "w1", count=1, block_s=5))
    await asyncio.sleep(0.2)
    assert not reading.done()
    started = time.monotonic()
    await bus.publish("push", event(1))
    assert shas(await reading) == [event(1).sha]
    assert time.monotonic() - started < 1  # woken by the entry, not by the end of block_s


async def test_a_failed_entry_is_delivered_again_to_any_consumer(bus: Bus) -> None:
    await bus.ensure_group("push", "analysis")
    await bus.publish("push", event(1))
    (first,) = await bus.read("push", "analysis", "w1", count=1, block_s=0.1)
    await bus.fail(first, "exit 1")
    (again,) = await bus.read("push", "analysis", "w2", count=1, block_s=0.5)
    assert (again.entry_id, again.event, again.deliveries, again.consumer) == (first.entry_id, event(1), 2, "w2")


async def test_a_late_renewal_does_not_hide_a_failed_entry(bus: Bus) -> None:
    """A worker's renewal timer may fire just after its handler failed: the entry is still delivered again."""
    await bus.ensure_group("push", "analysis")
    await bus.publish("push", event(1))
    (first,) = await bus.read("push", "analysis", "w1", count=1, block_s=0.1)
    await bus.fail(first, "exit 1")
    await bus.renew(first)
    (again,) = await bus.read("push", "analysis", "w1", count=1, block_s=0.1)
    assert (again.entry_id, again.deliveries) == (first.entry_id, 2)


async def test_reading_without_a_group_says_what_to_do(bus: Bus) -> None:
    await bus.publish("push", event(1))
    with pytest.raises(OrchestraError, match="consumer group"):
        await bus.read("push", "analysis", "w1", count=1, block_s=0.1)


async def test_a_poison_entry_is_dead_lettered_after_exactly_max_deliveries(bus: Bus) -> None:
    """Failed twice, then its worker dies on the third delivery: the reclaimer dead-letters it, the rest flows."""
    await bus.ensure_group("push", "analysis")
    await bus.publish("push", event(0))
    for attempt in (1, 2):
        (poison,) = await bus.read("push", "analysis", "w1", count=1, block_s=0.1)
        assert (poison.event, poison.deliveries) == (event(0), attempt)
        await bus.fail(poison, f"crash {attempt}")
    (poison,) = await bus.read("push", "analysis", "w1", count=1, block_s=0.1)
    assert poison.deliveries == MAX
    await bus.publish("push", event(1))
    await asyncio.sleep(0.1)  # w1 died holding it
    assert await bus.reclaim("push", "analysis", "w2", min_idle_s=0.05, count=10) == []
    (dead,) = await bus.dead_letters("push")
    assert (dead.event, dead.deliveries, dead.group, dead.entry_id) == (event(0), MAX, "analysis", poison.entry_id)
    assert "'w1' stopped renewing it" in dead.error and "crash 2" in dead.error
    assert shas(await bus.read("push", "analysis", "w2", count=10, block_s=0.1)) == [event(1).sha]


async def test_a_poison_entry_failing_on_its_last_delivery_carries_its_error(bus: Bus) -> None:
    """Its first worker died (reclaimed), then it failed twice: dead on the third failure, the rest flows."""
    await bus.ensure_group("push", "analysis")
    await bus.publish("push", event(0))
    await bus.read("push", "analysis", "w1", count=1, block_s=0.1)
    await asyncio.sleep(0.1)
    (poison,) = await bus.reclaim("push", "analysis", "w2", min_idle_s=0.05, count=10)
    assert poison.deliveries == 2
    await bus.fail(poison, "crash 2")
    (poison,) = await bus.read("push", "analysis", "w2", count=1, block_s=0.1)
    assert poison.deliveries == MAX
    await bus.publish("push", event(1))
    await bus.fail(poison, "Traceback: ValueError: bad sha")
    (dead,) = await bus.dead_letters("push")
    assert (dead.event, dead.deliveries, dead.error) == (event(0), MAX, "Traceback: ValueError: bad sha")
    assert shas(await bus.read("push", "analysis", "w2", count=10, block_s=0.1)) == [event(1).sha]
    (group,) = (await bus.status()).groups
    assert (group.pending, group.lag) == (1, 0)


async def test_reclaim_hands_a_dead_consumers_entry_to_another(bus: Bus) -> None:
    await bus.ensure_group("push", "analysis")
    await bus.publish("push", event(1))
    (held,) = await bus.read("push", "analysis", "w1", count=1, block_s=0.1)
    assert await bus.reclaim("push", "analysis", "w2", min_idle_s=5, count=10) == []  # not idle long enough
    await asyncio.sleep(0.15)
    (taken,) = await bus.reclaim("push", "analysis", "w2", min_idle_s=0.1, count=10)
    assert (taken.entry_id, taken.event, taken.deliveries, taken.consumer) == (held.entry_id, event(1), 2, "w2")
    await bus.renew(held)  # w1 woke up: its renewal does not take the entry back from w2
    await asyncio.sleep(0.15)
    (again,) = await bus.reclaim("push", "analysis", "w3", min_idle_s=0.1, count=10)
    assert again.deliveries == 3


async def test_renewing_keeps_an_entry_from_the_reclaimer(bus: Bus) -> None:
    await bus.ensure_group("push", "analysis")
    await bus.publish("push", event(1))
    (held,) = await bus.read("push", "analysis", "w1", count=1, block_s=0.1)
    for _ in range(4):
        await asyncio.sleep(0.06)
        await bus.renew(held)
        assert await bus.reclaim("push", "analysis", "w2", min_idle_s=0.15, count=10) == []
    await asyncio.sleep(0.2)
    assert len(await bus.reclaim("push", "analysis", "w2", min_idle_s=0.15, count=10)) == 1


async def test_ack_publishes_the_follow_ups(bus: Bus) -> None:
    await bus.ensure_group("push", "analysis")
    await bus.ensure_group("analysed", "plan")
    await bus.publish("push", event(1))
    (delivery,) = await bus.read("push", "analysis", "w1", count=1, block_s=0.1)
    await bus.ack(delivery, Published([("analysed", event(2)), ("chat", event(3))]))
    status = await bus.status()
    assert status.topics == {"analysed": 1, "chat": 1, "push": 1}
    assert {(g.topic, g.pending, g.lag) for g in status.groups} == {("push", 0, 0), ("analysed", 0, 1)}
    assert shas(await bus.read("analysed", "plan", "w1", count=10, block_s=0.1)) == [event(2).sha]


async def test_a_key_is_set_once_until_it_expires(bus: Bus) -> None:
    assert await bus.set_once("effect:a", "w1")
    assert not await bus.set_once("effect:a", "w2")
    assert await bus.get("effect:a") == "w1"
    assert await bus.set_once("effect:b", "w1", ttl_s=0.1)
    assert not await bus.set_once("effect:b", "w2", ttl_s=0.1)
    await asyncio.sleep(0.2)
    assert await bus.get("effect:b") is None
    assert await bus.set_once("effect:b", "w2", ttl_s=0.1)


async def test_documents_are_put_got_and_listed_by_prefix(bus: Bus) -> None:
    assert await bus.get("run:1") is None
    for key in ("run:1", "run:2", "runner", "lease:x"):
        await bus.put(key, f"value of {key}")
    await bus.put("run:1", "updated")
    assert await bus.get("run:1") == "updated"
    assert sorted(await bus.keys("run:")) == ["run:1", "run:2"]


async def test_a_lease_has_one_owner_at_a_time(bus: Bus) -> None:
    assert await bus.acquire("ref:main", "w1", ttl_s=0.3)
    assert not await bus.acquire("ref:main", "w2", ttl_s=0.3)
    await asyncio.sleep(0.2)
    assert await bus.acquire("ref:main", "w1", ttl_s=0.3)  # renewed by its owner
    await asyncio.sleep(0.2)
    assert not await bus.acquire("ref:main", "w2", ttl_s=0.3)  # 0.4 s after the first: alive thanks to the renewal
    await bus.release("ref:main", "w2")  # not w2's to release
    assert not await bus.acquire("ref:main", "w2", ttl_s=0.3)
    await bus.release("ref:main", "w1")
    assert await bus.acquire("ref:main", "w2", ttl_s=0.1)
    await asyncio.sleep(0.2)
    assert await bus.acquire("ref:main", "w3", ttl_s=1)  # w2's lease expired: taken over


async def test_status_counts_entries_pending_lag_and_dead_letters(bus: Bus) -> None:
    await bus.ensure_group("push", "analysis")
    await bus.ensure_group("push", "chatops")
    for n in range(4):
        await bus.publish("push", event(n))
    first, second, _ = await bus.read("push", "analysis", "w1", count=3, block_s=0.1)
    await bus.ack(second)
    for _ in range(MAX - 1):
        await bus.fail(first, "boom")
        first, *_ = await bus.read("push", "analysis", "w2", count=1, block_s=0.1)
    await bus.fail(first, "boom")
    status = await bus.status()
    assert status.engine == bus.url.split(":")[0]
    assert status.topics == {"push": 4}
    assert status.dead_letters == {"push": 1}
    assert [(g.topic, g.group, g.consumers, g.pending, g.lag) for g in status.groups] == [
        ("push", "analysis", 2, 1, 1), ("push", "chatops", 0, 0, 4)]


async def test_the_memory_bus_state_is_shared_with_other_processes(tmp_path: Path) -> None:
    """Another shell of the machine sees the runs, keys and leases of a memory:// bus on the same file."""
    url = f"memory://{tmp_path}/state.sqlite"
    bus = open_bus(url)
    await bus.put("run:1", "running")
    assert await bus.acquire("ref:main", "here", ttl_s=60)
    other = (
        "import asyncio, sys\n"
        "from devops_orchestra.orchestra.bus import open_bus\n"
        "async def main():\n"
        "    bus = open_bus(sys.argv[1])\n"
        "    print(await bus.get('run:1'), await bus.acquire('ref:main', 'there', ttl_s=60),"
        " await bus.set_once('effect:1', 'there'))\n"
        "asyncio.run(main())\n"
    )
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", other, url, stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate()
    assert (child.returncode, out.decode().split()) == (0, ["running", "False", "True"])
    assert not await bus.set_once("effect:1", "here")


async def test_broker_killed_with_9_loses_nothing(tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        bus = open_bus(server.url, max_deliveries=MAX)
        await bus.ensure_group("push", "analysis")
        for n in range(3):
            await bus.publish("push", event(n))
        done, held = await bus.read("push", "analysis", "w1", count=2, block_s=0.1)
        await bus.ack(done)
        await bus.set_once("effect:1", "w1")
        server.kill()
        server.start()
        (group,) = (await bus.status()).groups
        assert (group.pending, group.lag) == (1, 1)
        assert (await bus.status()).topics == {"push": 3}
        (taken,) = await bus.reclaim("push", "analysis", "w2", min_idle_s=0, count=10)
        assert (taken.entry_id, taken.event, taken.deliveries) == (held.entry_id, held.event, 2)
        assert shas(await bus.read("push", "analysis", "w2", count=10, block_s=0.1)) == [event(2).sha]
        assert not await bus.set_once("effect:1", "w2")
        await bus.close()


async def test_an_unreachable_broker_is_a_clear_error_and_fast() -> None:
    bus = open_bus(f"redis://ops:s3cret@127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(OrchestraError) as error:
        await bus.publish("push", event(1))
    assert time.monotonic() - started < 3
    message = str(error.value)
    assert "redis://127.0.0.1:" in message and "s3cret" not in message and "ops:" not in message
    assert "start Redis" in message
    await bus.close()


async def test_trim_drops_only_what_every_group_has_read_and_acknowledged(bus: Bus) -> None:
    await bus.ensure_group("push", "analysis")
    await bus.ensure_group("push", "chatops")
    for n in range(10):
        await bus.publish("push", event(n))
    read = await bus.read("push", "analysis", "w1", count=10, block_s=0.1)
    for delivery in read[:2] + read[3:]:  # the third stays pending in analysis
        await bus.ack(delivery)
    for delivery in await bus.read("push", "chatops", "w1", count=6, block_s=0.1):  # the last four unread here
        await bus.ack(delivery)
    assert await bus.trim("push", keep=0, keep_dead=10) == 2
    assert (await bus.status()).topics == {"push": 8}
    await bus.ack(read[2])
    assert await bus.trim("push", keep=0, keep_dead=10) == 4  # chatops has not read the last four
    assert shas(await bus.read("push", "chatops", "w1", count=10, block_s=0.1)) == [event(n).sha for n in range(6, 10)]
    await bus.trim("push", keep=0, keep_dead=10)  # chatops has not acknowledged them: they stay
    assert (await bus.status()).topics == {"push": 4}


async def test_trim_keeps_the_newest_entries_and_a_new_group_reads_from_the_oldest_kept(bus: Bus) -> None:
    await bus.ensure_group("push", "analysis")
    ids = [await bus.publish("push", event(n)) for n in range(6)]
    for delivery in await bus.read("push", "analysis", "w1", count=10, block_s=0.1):
        await bus.ack(delivery)
    assert await bus.trim("push", keep=2, keep_dead=10) == 4
    assert await bus.trim("push", keep=2, keep_dead=10) == 0
    assert await bus.trim("nothing-here", keep=2, keep_dead=10) == 0
    await bus.ensure_group("push", "late")
    got = await bus.read("push", "late", "w1", count=10, block_s=0.1)
    assert [(d.entry_id, d.event) for d in got] == [(ids[4], event(4)), (ids[5], event(5))]
    assert await bus.publish("push", event(6)) not in ids  # ids go on after a trim
    (status,) = [g for g in (await bus.status()).groups if g.group == "analysis"]
    assert (status.pending, status.lag) == (0, 1)


async def test_trim_keeps_a_failed_entry_until_it_is_dead_lettered_and_caps_dead_letters(bus: Bus) -> None:
    await bus.ensure_group("push", "analysis")
    for n in range(4):
        await bus.publish("push", event(n))
    for delivery in await bus.read("push", "analysis", "w1", count=10, block_s=0.1):
        await bus.fail(delivery, f"crash {delivery.event.sha[-1]}")
    assert await bus.trim("push", keep=0, keep_dead=10) == 0  # failed: pending, to be delivered again
    for _ in range(MAX - 1):
        for delivery in await bus.read("push", "analysis", "w1", count=10, block_s=0.1):
            await bus.fail(delivery, f"crash {delivery.event.sha[-1]}")
    assert len(await bus.dead_letters("push")) == 4
    assert await bus.trim("push", keep=0, keep_dead=1) == 4 + 3
    assert [d.error for d in await bus.dead_letters("push")] == ["crash 3"]
    status = await bus.status()
    assert (status.topics, status.dead_letters) == ({"push": 0}, {"push": 1})


async def test_a_document_put_with_a_ttl_expires(bus: Bus) -> None:
    await bus.put("run:1", "one", ttl_s=0.1)
    await bus.put("run:2", "two", ttl_s=30)
    await bus.put("run:3", "three", ttl_s=0.1)
    await bus.put("run:3", "kept")  # put again without a ttl: kept
    assert await bus.get("run:1") == "one"
    await asyncio.sleep(0.2)
    assert (await bus.get("run:1"), await bus.get("run:2"), await bus.get("run:3")) == (None, "two", "kept")
    assert sorted(await bus.keys("run:")) == ["run:2", "run:3"]


async def test_an_index_lists_its_newest_members_and_drops_the_old(bus: Bus) -> None:
    for n, score in enumerate([5.0, 1.0, 3.0, 4.0]):
        await bus.index_add("runs", f"r{n}", score)
    await bus.index_add("other", "x", 100.0)
    assert await bus.index_newest("runs", 3) == ["r0", "r3", "r2"]
    await bus.index_add("runs", "r1", 6.0)  # a member added again takes its new score
    assert await bus.index_newest("runs", 10) == ["r1", "r0", "r3", "r2"]
    await bus.index_add("runs", "r4", 7.0, drop_below=4.0)
    assert await bus.index_newest("runs", 10) == ["r4", "r1", "r0", "r3"]
    assert await bus.index_newest("runs", 0) == []
    assert await bus.index_newest("other", 10) == ["x"]

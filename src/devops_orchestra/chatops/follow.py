"""Following runs for ChatOps: a consumer group of its own (`chatops`) on code_push learns of each new run; the run
is then read from the RunBook as it changes (stage started, retried, finished) and each new state is handed to
the sinks (GitHub, Slack). The orchestra knows nothing of this: it only writes its runs.

The code_push entry stays pending, its lease renewed, until the run has ended and every sink was told: a
follower that dies leaves it to another (reclaimed after 1.5 leases), which picks up from the run's state (the
check runs and the thread are found again in the shared state). A run reported to the end is marked so, and a
redelivered entry for it is only acknowledged."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from devops_orchestra.gitops.secrets import REDACT
from devops_orchestra.models.orchestra import PipelineRun, now
from devops_orchestra.orchestra.bus.base import Bus, Delivery
from devops_orchestra.orchestra.retention import retention
from devops_orchestra.orchestra.runs import RunBook
from devops_orchestra.orchestra.worker import consumer_name, watch

log = structlog.get_logger("devops_orchestra.chatops")
GROUP = "chatops"
TOPIC = "code_push"
REPORTED = "chatops:reported:"
STALE_S = 600  # a run that ended longer ago than this when first seen is history, not news


class Sink(Protocol):
    async def update(self, run: PipelineRun) -> None:
        """Show this state of the run (called with each new state; the last one is finished)."""
        ...


@dataclass
class Follower:
    bus: Bus
    sinks: list[Sink]
    consumer: str = field(default_factory=lambda: consumer_name() + "-chatops")
    concurrency: int = 32  # runs followed at once
    lease_s: float = 15.0
    poll_s: float = 0.5  # how often a followed run is read
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self, stop: asyncio.Event) -> None:
        await self.bus.ensure_group(TOPIC, GROUP)
        reclaim_at = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            free = self.concurrency - len(self._tasks)
            got: list[Delivery] = []
            try:
                if free > 0 and loop.time() >= reclaim_at:
                    reclaim_at = loop.time() + self.lease_s / 4
                    got = await self.bus.reclaim(TOPIC, GROUP, self.consumer, min_idle_s=1.5 * self.lease_s,
                                                 count=free)
                if free > len(got):
                    got += await self.bus.read(TOPIC, GROUP, self.consumer, count=free - len(got), block_s=0.5)
                else:
                    await asyncio.sleep(0.2)
            except Exception as exc:  # the broker restarting: wait and read again
                log.warning("chatops cannot read the bus", error=REDACT(str(exc)))
                await asyncio.sleep(1.0)
            for delivery in got:
                task = asyncio.create_task(self._follow(delivery))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        for task in list(self._tasks):
            task.cancel()  # left pending: another follower (or the next start) takes them over
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _follow(self, delivery: Delivery) -> None:
        run_id = delivery.event.run_id
        run = await RunBook(self.bus).get(run_id)
        if await self.bus.get(REPORTED + run_id) is not None or run is None or (
                run.finished and (now() - run.updated_at).total_seconds() > STALE_S):
            await self.bus.ack(delivery)  # reported, gone, or long over (a new group reading old entries)
            return
        alive = asyncio.create_task(self._renew(delivery))
        try:
            final = await watch(RunBook(self.bus), run_id, self._tell, poll_s=self.poll_s)
            await self._tell(final)  # again: a sink whose last update failed tries once more (the others skip it)
        except Exception as exc:  # the run expired or is unknown: nothing to follow
            log.warning("cannot follow run", run=run_id, error=REDACT(str(exc)))
        finally:
            alive.cancel()
        await self.bus.put(REPORTED + run_id, "1", ttl_s=retention().runs_s)
        await self.bus.ack(delivery)

    async def _renew(self, delivery: Delivery) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self.bus.renew(delivery)
            except Exception as exc:
                log.warning("cannot renew", entry=delivery.entry_id, error=REDACT(str(exc)))

    async def _tell(self, run: PipelineRun) -> None:
        for sink in self.sinks:
            try:
                await sink.update(run)
            except Exception as exc:  # one sink down (GitHub 500s past the retries) must not stop the others
                log.warning("cannot report", sink=type(sink).__name__, run=run.run_id, state=run.state,
                            error=REDACT(f"{type(exc).__name__}: {exc}"))

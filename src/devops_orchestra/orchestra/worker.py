"""A worker: consumes the stages' topics (a consumer group per stage), runs each delivery's stage, records it in
the run and acknowledges it together with the next event.

- Bounded work: at most `concurrency` deliveries in hand; a reader asks for one entry per free slot.
- One worker per ref: a stage runs only under the lease `ref:<repo>@<ref>`, whose owner is this delivery.
- At least once, one effect: a stage's result is kept under a key per (repo, sha, stage, configuration hash)
  set once; a redelivered stage whose result is kept publishes that result again instead of redoing it.
- Alive or reclaimed: the delivery and the lease are renewed while the stage runs; a reclaimer takes entries
  idle for 1.5 lease periods (their worker died) from any worker of the group, within 2 periods.
- Bounded: now and then (retention.trim_every_s) the reclaimer trims the topics of the known stages to what a
  group still needs; effect keys expire after retention.effects_s.
- Supersede: a run still queued when its code_push comes up, whose ref has a newer submission, ends as
  superseded by that submission's sha.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

import structlog
from pydantic import TypeAdapter

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.core.store import Store, open_store
from devops_orchestra.models.events import Envelope, Payload, RunFinished
from devops_orchestra.models.orchestra import PipelineRun, now
from devops_orchestra.orchestra import gates, workspaces
from devops_orchestra.orchestra.bus.base import Bus, Delivery, Published
from devops_orchestra.orchestra.retention import Retention, retention
from devops_orchestra.orchestra.runs import RunBook, finish
from devops_orchestra.orchestra.stages import FIRST_TOPIC, Stage, StageContext, next_stage
from devops_orchestra.pipeline.config import CONFIG_NAME, ConfigError, OrchestraConfig, parse

log = structlog.get_logger("devops_orchestra.orchestra")
PAYLOAD: TypeAdapter[Payload] = TypeAdapter(Payload)
DEFAULT_LEASE_S = 15.0
# A held delivery is renewed every third of a lease; one idle for 1.5 leases (4.5 missed renewals) belongs to a
# dead worker. Looking every quarter lease, a survivor takes it within 2 leases of the last renewal.
RECLAIM_IDLE = 1.5
RECLAIM_EVERY = 0.25


def consumer_name() -> str:
    """This process, as consumers and lease owners name it: host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


def config_of(checkout: Path) -> tuple[OrchestraConfig, str]:
    """devops_orchestra.yaml in the checkout (or the defaults) and a hash of its text. Blocking."""
    path = checkout / CONFIG_NAME
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    config = parse(text, str(path)) if text else OrchestraConfig()
    return config, hashlib.sha256(text.encode()).hexdigest()[:16]


class Worker:
    def __init__(self, bus: Bus, stages: dict[str, Stage], *, consume: list[str] | None = None, concurrency: int = 2,
                 lease_s: float = DEFAULT_LEASE_S, consumer: str | None = None, store: Store | None = None,
                 max_deliveries: int | None = None, block_s: float | None = None,
                 keep: Retention | None = None) -> None:
        self.bus = bus
        self.keep = keep or retention()
        self.runs = RunBook(bus, self.keep)
        self.stages = stages
        self.mine = [stages[n] for n in (consume or list(stages))]
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.consumer = consumer or consumer_name()
        # as many as the engine delivers before its dead letter: the last failure then ends the run
        self.max_deliveries = max_deliveries if max_deliveries is not None else bus.max_deliveries
        # a reader waits with its slot taken: a reclaimed entry waits for it at most this long
        self.block_s = block_s if block_s is not None else min(1.0, lease_s / 4)
        self._store = store
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._settled: dict[str, set[str]] = {s.name: set() for s in self.mine}  # dead letters seen, per stage

    async def run(self, stop: asyncio.Event) -> None:
        """Work until stop is set, then finish the deliveries in hand and return."""
        if self._store is None:
            self._store = await asyncio.to_thread(open_store)
        for stage in self.mine:
            await self.bus.ensure_group(stage.consumes, stage.name)
        log.info("worker started", consumer=self.consumer, stages=[s.name for s in self.mine],
                 concurrency=self.concurrency, bus=self.bus.url)
        loops = [asyncio.create_task(self._read(stage, stop)) for stage in self.mine]
        loops.append(asyncio.create_task(self._reclaim(stop)))
        try:
            await asyncio.gather(*loops)
        finally:
            for loop in loops:
                loop.cancel()
            if self._tasks:  # the stages in hand are finished (and acknowledged) before the worker leaves
                await asyncio.gather(*self._tasks, return_exceptions=True)
            log.info("worker stopped", consumer=self.consumer)

    async def _read(self, stage: Stage, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._slots.acquire()
            try:
                got = [] if stop.is_set() else await self.bus.read(
                    stage.consumes, stage.name, self.consumer, count=1, block_s=self.block_s)
            except Exception as exc:  # the broker restarting: wait and read again
                log.warning("cannot read from the bus", topic=stage.consumes, error=str(exc))
                got = []
                await _wait(stop, 1.0)
            if got:
                self._start(stage, got[0])
            else:
                self._slots.release()

    async def _reclaim(self, stop: asyncio.Event) -> None:
        """Take over what a dead worker left (entries idle for RECLAIM_IDLE leases), as many as slots are free."""
        next_trim = 0.0
        while not await _wait(stop, RECLAIM_EVERY * self.lease_s):
            if time.monotonic() >= next_trim:
                next_trim = time.monotonic() + self.keep.trim_every_s
                await self._trim()
            for stage in self.mine:
                free = self.concurrency - len(self._tasks)
                if free <= 0:
                    break
                try:
                    got = await self.bus.reclaim(stage.consumes, stage.name, self.consumer,
                                                 min_idle_s=RECLAIM_IDLE * self.lease_s, count=free)
                except Exception as exc:
                    log.warning("cannot reclaim", topic=stage.consumes, error=str(exc))
                    continue
                for delivery in got:
                    log.info("reclaimed", topic=stage.consumes, entry=delivery.entry_id, run=delivery.event.run_id)
                    await self._slots.acquire()
                    self._start(stage, delivery)
                try:
                    await self._settle_dead_letters(stage)
                except Exception as exc:
                    log.warning("cannot read dead letters", topic=stage.consumes, error=str(exc))

    async def _trim(self) -> None:
        """Trim every topic the known stages read or write (and run_finished), to what a group still needs: one
        whose stages no worker runs keeps its newest retention.stream_keep entries."""
        topics = sorted({"run_finished"} | {t for s in self.stages.values() for t in (s.consumes, s.publishes)})
        for topic in topics:
            try:
                went = await self.bus.trim(topic, keep=self.keep.stream_keep, keep_dead=self.keep.dead_keep)
            except Exception as exc:
                log.warning("cannot trim", topic=topic, error=str(exc))
                continue
            if went:
                log.info("trimmed", topic=topic, entries=went)

    async def _settle_dead_letters(self, stage: Stage) -> None:
        """End as failed the runs whose entry the engine dead-lettered while reclaiming it (every worker that
        took it died): no worker holds it any more to say so. Once per dead letter, whichever worker sees it;
        one this worker has seen settled is not looked up again (this runs every quarter lease)."""
        settled = set()
        for dead in await self.bus.dead_letters(stage.consumes):
            key = f"dead-letter:{dead.topic}:{dead.group}:{dead.entry_id}"
            settled.add(key)
            if key in self._settled[stage.name]:
                continue
            run = await self.runs.get(dead.event.run_id)
            if run is None or run.finished or not await self.bus.set_once(key, self.consumer,
                                                                          ttl_s=self.keep.effects_s):
                continue
            reason = f"{stage.name} was delivered {dead.deliveries} times and never finished; last: {dead.error}"
            await self.runs.update(run.run_id, _stage_failed(stage.name, dead.error, reason))
            await self.bus.publish("run_finished", dead.event.follow(RunFinished(state="failed", reason=reason)))
            log.warning("run failed: its entry was dead-lettered", run=run.run_id, stage=stage.name, error=dead.error)
        self._settled[stage.name] = settled  # only those still listed: bounded by what dead_letters returns

    def _start(self, stage: Stage, delivery: Delivery) -> None:
        task = asyncio.create_task(self._deliver(stage, delivery))
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._slots.release()
            if not t.cancelled() and t.exception():
                log.error("delivery crashed", entry=delivery.entry_id, error=repr(t.exception()))

        task.add_done_callback(done)

    async def _deliver(self, stage: Stage, delivery: Delivery) -> None:
        """The delivery under its ref's lease, both kept alive meanwhile."""
        event = delivery.event
        lease, owner = f"ref:{event.repo}@{event.ref}", f"{self.consumer}/{delivery.entry_id}"
        held = asyncio.Event()
        lost = asyncio.Event()
        alive = asyncio.create_task(self._keep_alive(delivery, lease, owner, held, lost))
        try:
            # Another worker has the ref: wait our turn. The lease lives in the bus, so it is polled.
            while not await self.bus.acquire(lease, owner, ttl_s=self.lease_s):  # noqa: ASYNC110
                await asyncio.sleep(min(0.2, self.lease_s / 4))
            held.set()
            try:
                await self._handle(stage, delivery, lost)
            finally:
                await self.bus.release(lease, owner)
        finally:
            alive.cancel()

    async def _keep_alive(self, delivery: Delivery, lease: str, owner: str, held: asyncio.Event,
                          lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self.bus.renew(delivery)
                if held.is_set() and not await self.bus.acquire(lease, owner, ttl_s=self.lease_s):
                    lost.set()  # stalled past the lease: another worker has the ref now; do not ack
            except Exception as exc:
                log.warning("cannot renew", entry=delivery.entry_id, error=str(exc))

    async def _handle(self, stage: Stage, delivery: Delivery, lost: asyncio.Event) -> None:
        event = delivery.event
        run = await self.runs.get(event.run_id)
        if run is None or run.finished or stage.name not in [s.name for s in run.stages]:
            await self.bus.ack(delivery)  # nothing of ours to do: an unknown run, one ended, or not this stage
            return
        if stage.consumes == FIRST_TOPIC and run.state == "queued" and await self._superseded(run, delivery):
            return
        try:
            checkout = await workspaces.checkout(run.source, event.sha)
            config, config_hash = await asyncio.to_thread(config_of, checkout)
        except ConfigError as exc:  # no retry mends a bad file: the run fails at once, saying where
            await self._end_failed(delivery, run, str(exc))
            return
        except Exception as exc:  # a fetch that failed may work next time, on this worker or another
            await self._failed(stage, delivery, f"{type(exc).__name__}: {exc}")
            return
        key = f"effect:{event.repo}:{event.sha}:{stage.name}:{config_hash}" + (f":{run.run_id}" if run.dirty else "") \
            + (":fork" if run.from_fork else "") + (f":{event.ref}" if stage.deploys else "")
        # a fork's results (not run, not deployed) are its own; a deploy depends on the branch (its environment)
        kept = await self.bus.get(key)
        if kept is not None:
            payload = PAYLOAD.validate_json(kept)
        else:
            done = await self._work(stage, delivery, run, checkout, config, key)
            if done is None:
                return
            payload = done
            if not await self.bus.set_once(key, payload.model_dump_json(), ttl_s=self.keep.effects_s):
                kept = await self.bus.get(key)  # another worker finished first: its result stands
                payload = PAYLOAD.validate_json(kept) if kept is not None else payload
        if lost.is_set():
            log.warning("lease lost while working: leaving the entry to its new owner", run=run.run_id)
            return
        await self._record(stage, delivery, payload, config, reused=kept is not None)

    async def _superseded(self, run: PipelineRun, delivery: Delivery) -> bool:
        head_id = await self.runs.head(run.repo, run.ref)
        head = await self.runs.get(head_id) if head_id and head_id != run.run_id else None
        if head is None or head.created_at <= run.created_at:
            return False
        reason = f"superseded by {head.sha} (run {head.run_id}), a newer push to {run.ref}"

        def change(r: PipelineRun) -> None:
            r.superseded_by = head.sha
            finish(r, "superseded")

        await self.runs.update(run.run_id, change)
        await self.bus.ack(delivery, then=Published([("run_finished", delivery.event.follow(
            RunFinished(state="superseded", reason=reason)))]))
        log.info("run superseded", run=run.run_id, by=head.sha)
        return True

    async def _work(self, stage: Stage, delivery: Delivery, run: PipelineRun, checkout: Path,
                    config: OrchestraConfig, key: str) -> Payload | None:
        """The stage's handler, recorded as running; None when it failed (the delivery is failed too)."""
        def started(r: PipelineRun) -> None:
            s = r.stage(stage.name)
            s.state, s.started_at, s.finished_at, s.worker, s.error = "running", now(), None, self.consumer, None
            s.attempts += 1
            r.state = "running"

        await self.runs.update(run.run_id, started)
        assert self._store is not None
        context = StageContext(checkout=checkout, config=config, store=self._store, state=self.bus, effect_key=key,
                               from_fork=run.from_fork)
        try:
            return await stage.handle(delivery.event, context)
        except Exception as exc:
            await self._failed(stage, delivery, f"{type(exc).__name__}: {exc}")
            return None

    async def _failed(self, stage: Stage, delivery: Delivery, error: str) -> None:
        last = delivery.deliveries >= self.max_deliveries
        log.warning("stage failed", stage=stage.name, run=delivery.event.run_id, attempt=delivery.deliveries,
                    error=error, dead_letter=last)

        reason = f"{stage.name} failed {delivery.deliveries} times; last: {error}" if last else None
        run = await self.runs.update(delivery.event.run_id, _stage_failed(stage.name, error, reason))
        if last:
            await self.bus.publish("run_finished", delivery.event.follow(RunFinished(state="failed",
                                                                                     reason=run.error or error)))
        await self.bus.fail(delivery, error)

    async def _record(self, stage: Stage, delivery: Delivery, payload: Payload, config: OrchestraConfig,
                      reused: bool) -> None:
        """The stage's result in its run, acknowledged with the next event (and run_finished if the run ends)."""
        event = delivery.event
        run = await self.runs.require(event.run_id)
        following = next_stage([s.name for s in run.stages], self.stages, stage.publishes)
        stop = gates.check(payload, following, event.ref, config.orchestra.gates)
        summary = stage.summary(payload) + gates.warning(payload, config.orchestra.gates)
        failed = gates.failure(payload)
        ending: tuple[Literal["succeeded", "failed", "stopped by gate"], str] | None = None
        if failed:
            ending = ("failed", failed)
        elif stop:
            ending = ("stopped by gate", f"gate {stop.gate}: {stop.reason}")
        elif following is None:
            ending = ("succeeded", summary)

        def change(r: PipelineRun) -> None:
            s = r.stage(stage.name)
            s.state, s.finished_at, s.error = "succeeded", now(), None
            s.summary = summary + (" (the result kept from an earlier delivery)" if reused else "")
            s.report_run_id = getattr(payload, "report_run_id", None)
            if stop:
                r.gate = stop
            if ending:
                finish(r, ending[0], error=failed)

        await self.runs.update(run.run_id, change)
        events: list[tuple[str, Envelope]] = [(stage.publishes, event.follow(payload))]
        if ending:
            events.append(("run_finished", event.follow(RunFinished(state=ending[0], reason=ending[1]))))
        await self.bus.ack(delivery, then=Published(events))
        log.info("stage done", stage=stage.name, run=run.run_id, summary=summary)

    async def _end_failed(self, delivery: Delivery, run: PipelineRun, reason: str) -> None:
        await self.runs.update(run.run_id, lambda r: finish(r, "failed", error=reason))
        await self.bus.ack(delivery, then=Published([("run_finished", delivery.event.follow(
            RunFinished(state="failed", reason=reason)))]))


def _stage_failed(stage: str, error: str, reason: str | None) -> Callable[[PipelineRun], None]:
    """A run's change when a stage failed: waiting for another delivery, or (with reason) the run failed."""
    def change(r: PipelineRun) -> None:
        s = r.stage(stage)
        s.state, s.finished_at, s.error = ("failed" if reason else "waiting"), now(), error
        if reason:
            finish(r, "failed", error=reason)

    return change


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to seconds; True when stop was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


Watcher = Callable[[PipelineRun], Awaitable[None]]


async def watch(runs: RunBook, run_id: str, on_change: Watcher | None = None, *, poll_s: float = 0.2,
                timeout_s: float | None = None) -> PipelineRun:
    """Follow a run until it finishes, calling on_change with each new state of it; the finished run."""
    seen = ""
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    while True:
        run = await runs.require(run_id)
        shape = run.model_dump_json(include={"state", "stages"})
        if shape != seen:
            seen = shape
            if on_change:
                await on_change(run)
        if run.finished:
            return run
        if deadline is not None and loop.time() > deadline:
            raise OrchestraError(f"run {run_id} did not finish within {timeout_s:g} s; it is {run.state}: "
                                 "are workers running on this bus (`devops-orchestra bus status`)?")
        await asyncio.sleep(poll_s)

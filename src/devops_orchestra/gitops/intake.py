"""A GitHub delivery in, a pipeline run queued on the bus out, in the order that keeps it safe and fast:

1. the signature (HMAC of the raw body) is checked before anything is parsed: bad or missing -> 401;
2. `ping` is answered; events other than push and pull_request start nothing;
3. the body is parsed: malformed -> 400 with the reason;
4. the delivery id is set once in the bus's shared state (kept 3 days): a redelivery -> 200, nothing started;
5. the run is created and its code_push published (orchestra/submit.py) -> 202; the work happens on the bus.

With `memory://` (in_process) steps 4 and 5 happen just after the answer, in arrival order, by one task: that
bus's streams live in this process anyway, so the answer promises no more than before, and it no longer waits
for the SQLite transactions of a run's creation (at 50 deliveries a second on two busy cores, those queued the
answers for a second and more). A redelivery is still recognised at once (the deliveries waiting, then the
shared state), and a delivery is marked received only with its run: if the process dies before, GitHub's
Redeliver starts it. With Redis the answer waits for the run: a few milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.gitops import signature
from devops_orchestra.gitops.payloads import EVENTS, BadDelivery, Trigger, parse_body, trigger
from devops_orchestra.gitops.secrets import REDACT
from devops_orchestra.models.orchestra import PipelineRun
from devops_orchestra.orchestra import submit
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.workspaces import is_url

log = structlog.get_logger("devops_orchestra.gitops")
DELIVERY_KEEP_S = 3 * 24 * 3600  # GitHub lets a person redeliver for 3 days
DELIVERY = "github:delivery:"


@dataclass(frozen=True)
class Answer:
    status: int
    message: str
    run_id: str | None = None


def source_map(pairs: list[str]) -> dict[str, str]:
    """--repo-map OWNER/NAME=PATH_OR_URL pairs; a path becomes a file:// URL, so each commit is checked out at its
    sha (a working tree would be read as it is, whatever was pushed)."""
    found = {}
    for pair in pairs:
        name, sep, where = pair.partition("=")
        if not sep or name.count("/") != 1 or not where:
            raise OrchestraError(f"--repo-map {pair!r}: give OWNER/NAME=PATH_OR_URL, e.g. acme/shop=/srv/git/shop.git")
        found[name.lower()] = where if is_url(where) else Path(where).expanduser().absolute().as_uri()
    return found


@dataclass
class Intake:
    """What /github does with a delivery."""

    bus: Bus
    secret: str
    repo_map: dict[str, str] = field(default_factory=dict)  # owner/name (lower case) -> where to fetch it
    stages: list[str] | None = None
    modules: list[str] = field(default_factory=list)  # --load: stages defined outside this package
    seen: dict[tuple[str, str], str] = field(default_factory=dict)  # (repo, ref) -> source, for reconcile
    # Told of a pull request whose commit already ran to the end (pushed before the PR was opened): the reporters
    # then put the verdict on the new pull request, since no run will end for it again.
    finished_before: Callable[[PipelineRun], Coroutine[Any, Any, None]] | None = None
    in_process: bool = False  # the bus is memory://: runs are created just after the answer (see above)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _backlog: asyncio.Queue[tuple[str, str, Trigger]] = field(default_factory=lambda: asyncio.Queue(10_000))
    _waiting: set[str] = field(default_factory=set)  # in_process: the deliveries answered, their runs not made yet
    _drainer: asyncio.Task[None] | None = None

    async def receive(self, headers: Mapping[str, str], body: bytes) -> Answer:
        """headers with lower-case names, as an ASGI server gives them."""
        if not signature.valid(self.secret, body, headers.get("x-hub-signature-256")):
            return Answer(401, "the X-Hub-Signature-256 header is missing or does not match the body: give the "
                               "webhook the same secret as this server's DEVOPS_ORCHESTRA_WEBHOOK_SECRET")
        event, delivery = headers.get("x-github-event", ""), headers.get("x-github-delivery", "")
        if not event or not delivery:
            return Answer(400, "X-GitHub-Event and X-GitHub-Delivery headers are required")
        if event == "ping":
            return Answer(200, "pong")
        if event not in EVENTS:
            return Answer(202, f"{event} events start nothing here: subscribe the webhook to push and pull_request")
        try:
            wanted = trigger(event, parse_body(body, headers.get("content-type", "application/json")))
        except BadDelivery as exc:
            return Answer(400, str(exc))
        if isinstance(wanted, str):
            return Answer(202, wanted)
        if self.in_process:
            try:
                seen = delivery in self._waiting or await self.bus.get(DELIVERY + delivery) is not None
            except Exception as exc:
                return _unavailable(delivery, exc)
            return _received_before(delivery) if seen else self._queue(delivery, event, wanted)
        try:
            fresh = await self.bus.set_once(DELIVERY + delivery, event, ttl_s=DELIVERY_KEEP_S)
        except Exception as exc:
            return _unavailable(delivery, exc)
        return await self._submit(delivery, event, wanted) if fresh else _received_before(delivery)

    async def _submit(self, delivery: str, event: str, wanted: Trigger) -> Answer:
        try:
            run, created = await submit.submit(self.bus, self.commit(wanted), self.stages, self.modules)
        except Exception as exc:  # not received after all: GitHub's "Redeliver" works once the bus is back
            with contextlib.suppress(Exception):
                await self.bus.put(DELIVERY + delivery, event, ttl_s=1)
            return _unavailable(delivery, exc)
        self.seen[(wanted.repo, wanted.ref)] = self.commit(wanted).source
        if run.finished and wanted.pull_request is not None and self.finished_before is not None:
            task = asyncio.create_task(self.finished_before(run))  # after the answer: GitHub waits 10 s at most
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        log.info("delivery queued", delivery=delivery, github_event=event, repo=wanted.repo, ref=wanted.ref,
                 sha=wanted.sha, run=run.run_id, created=created, fork=wanted.from_fork)
        return Answer(202, f"run {run.run_id} " + ("queued" if created else f"exists already ({run.state})"),
                      run_id=run.run_id)

    def _queue(self, delivery: str, event: str, wanted: Trigger) -> Answer:
        if self._backlog.full():
            return Answer(503, f"{self._backlog.qsize()} deliveries are waiting to be queued: redeliver this one "
                               "in a minute")
        self._backlog.put_nowait((delivery, event, wanted))
        self._waiting.add(delivery)
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        return Answer(202, f"queued: {wanted.repo} {wanted.ref} {wanted.sha[:12]}")

    async def _drain(self) -> None:
        while True:
            delivery, event, wanted = await self._backlog.get()
            try:
                # One delivery's writes at a time (this task): concurrent writers of memory://'s SQLite file
                # would wait in its busy handler (sleeps of up to 100 ms); in turn, each takes a few ms.
                if await self.bus.set_once(DELIVERY + delivery, event, ttl_s=DELIVERY_KEEP_S):
                    await self._submit(delivery, event, wanted)
            except Exception as exc:  # never lose the drainer: the next delivery still gets its run
                log.error("cannot queue a delivery", delivery=delivery, error=REDACT(f"{type(exc).__name__}: {exc}"))
            finally:
                self._waiting.discard(delivery)
                self._backlog.task_done()

    async def close(self, timeout_s: float = 10.0) -> None:
        """Create the runs of the deliveries answered but not yet queued, then stop."""
        if self._drainer is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._backlog.join(), timeout_s)
            self._drainer.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def commit(self, wanted: Trigger) -> submit.Commit:
        return submit.Commit(source=self.repo_map.get(wanted.repo.lower(), wanted.clone_url), repo=wanted.repo,
                             ref=wanted.ref, sha=wanted.sha, before=wanted.before, pusher=wanted.pusher,
                             from_fork=wanted.from_fork)


def _received_before(delivery: str) -> Answer:
    return Answer(200, f"delivery {delivery} was received before: nothing started again")


def _unavailable(delivery: str, exc: Exception) -> Answer:
    log.error("cannot queue a delivery", delivery=delivery, error=REDACT(f"{type(exc).__name__}: {exc}"))
    return Answer(503, f"cannot queue the run: {REDACT(str(exc))}. Redeliver it from the webhook's Recent "
                       "Deliveries once the bus is back.")

"""A deploy from plan to verdict: what it will do and which gates it passed (plan), then prepare the new
version, walk its strategy's steps watching the SLOs, and promote it or roll it back (execute). Every
deployment is recorded in the run store as it goes: the audit trail, and what DORA counts.

Blocking store calls go through asyncio.to_thread; the target's processes outlive this module's caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from devops_orchestra.core.paths import user_path
from devops_orchestra.core.store import Store
from devops_orchestra.deploy import strategies
from devops_orchestra.deploy.targets import make
from devops_orchestra.deploy.targets.base import DeployError, Target
from devops_orchestra.deploy.watch import watch
from devops_orchestra.models.compliance import ComplianceReport
from devops_orchestra.models.deploy import DeploymentRecord, DeployPlan, Gate, Slo, Step, Strategy
from devops_orchestra.models.review import ReviewReport
from devops_orchestra.pipeline.config import OrchestraConfig, Service, load

Say = Callable[[str], None]


def state_root() -> Path:
    """Where environments keep their state (pids, ports, release directories): $DEVOPS_ORCHESTRA_DEPLOYS,
    else $XDG_DATA_HOME/devops-orchestra/deploys."""
    return user_path("DEVOPS_ORCHESTRA_DEPLOYS", "XDG_DATA_HOME", "deploys")


def config_at(root: Path) -> OrchestraConfig:
    """devops_orchestra.yaml of the repository at root, where deploys read their services and environments."""
    config = load(root)
    if config is None:
        raise DeployError(f"{root.absolute()} has no devops_orchestra.yaml; deploys read their services and "
                          "environments from it (see docs/deploy.md)")
    return config


def service_of(config: OrchestraConfig, name: str) -> Service:
    for service in config.deployment.services:
        if service.name == name:
            return service
    known = ", ".join(s.name for s in config.deployment.services) or "none"
    raise DeployError(f"no service {name!r} in devops_orchestra.yaml's deployment.services (there: {known})")


def target_for(config: OrchestraConfig, service: str, environment: str) -> Target:
    env = config.deployment.environments.get(environment)
    if env is None:
        known = ", ".join(config.deployment.environments) or "none"
        raise DeployError(f"no environment {environment!r} in devops_orchestra.yaml's deployment.environments "
                          f"(there: {known}). Add one, e.g. `{environment}: {{target: local, instances: 2}}`.")
    return make(service_of(config, service), environment, env, state_root() / environment / service)


def slos(config: OrchestraConfig) -> list[Slo]:
    """The SLOs a deploy is watched against: rollback.threshold and observability.alerts, the stricter of
    two that measure the same thing; a 5% error budget when nothing is said."""
    errors = [config.rollback.threshold.errors, *(a.threshold for a in config.observability.alerts
                                                  if a.type == "error_rate")]
    latency = [a.threshold_ms for a in config.observability.alerts if a.type == "latency"]
    found = [Slo(name="success_rate", threshold=100 - min([e for e in errors if e is not None] or [5.0]))]
    if any(v is not None for v in latency):
        found.append(Slo(name="p99_latency_ms", threshold=min(v for v in latency if v is not None)))
    if config.rollback.threshold.cpu is not None:
        found.append(Slo(name="cpu_percent", threshold=config.rollback.threshold.cpu))
    return found


def resolve(root: Path, ref: str) -> str:
    """The full sha of ref in the repository at root."""
    if ref.startswith("-"):
        raise DeployError(f"{ref!r} is not a git ref")
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                          capture_output=True, text=True, timeout=30)
    if done.returncode:
        raise DeployError(f"{ref!r} is not a commit of the repository at {root}; give a branch, tag or sha there")
    return done.stdout.strip()


def production_gates(store: Store, sha: str) -> list[Gate]:
    """A production deploy needs the review's verdict 'safe to merge' and a passed compliance gate for sha."""
    gates = []
    review_id = store.latest_for_commit("review", sha)
    review = store.report(review_id, ReviewReport) if review_id else None
    if review is None:
        gates.append(Gate(name="review", passed=False, detail=f"no review of {sha[:12]} in the run store; run "
                          "`devops-orchestra review` on that commit"))
    else:
        gates.append(Gate(name="review", passed=review.verdict == "safe to merge",
                          detail=f"verdict {review.verdict!r} (run {review_id})"))
    compliance_id = store.latest_for_commit("compliance", sha)
    compliance = store.report(compliance_id, ComplianceReport) if compliance_id else None
    gate = compliance.gate if compliance else (review.compliance_gate if review else None)
    if gate is None:
        gates.append(Gate(name="compliance", passed=False, detail=f"no compliance gate for {sha[:12]}; run "
                          "`devops-orchestra review` (or the compliance check) on that commit"))
    else:
        gates.append(Gate(name="compliance", passed=gate.status == "passed",
                          detail=gate.status + (": " + "; ".join(gate.reasons) if gate.reasons else "")))
    return gates


async def plan(config: OrchestraConfig, root: Path, store: Store, *, service: str, environment: str, ref: str,
               strategy: Strategy | None = None, started_by: str, sha: str | None = None) -> DeployPlan:
    """What a deploy of ref would do; nothing is started."""
    target = target_for(config, service, environment)
    env = target.environment
    if sha is None:
        sha = await asyncio.to_thread(resolve, root, ref)
    chosen: Strategy = strategy or env.strategy or config.deployment.strategy
    interval_s = strategies.seconds(config.rollback.interval)
    duration = config.rollback.threshold.duration
    steps = strategies.steps(chosen, env, interval_s=interval_s,
                             watch_s=strategies.seconds(duration) if duration else None)
    stable = (await target.status()).stable
    gates = await asyncio.to_thread(production_gates, store, sha) if env.production else []
    found = slos(config)
    changes = [
        f"{service} in {environment} ({env.target}): {stable[:12] if stable else 'nothing running'} -> {sha[:12]} "
        f"({ref})",
        f"{chosen}: " + ", ".join(f"{s.weight}% for {s.pause_s:g} s" for s in steps) + ", then promote"
        + (" (the old version kept warm for an instant rollback)" if chosen == "blue-green"
           and target.keeps_old_warm else ""),
        "watch every {:g} s: {}; {}".format(interval_s, ", ".join(
            f"{s.name} {'>=' if s.name == 'success_rate' else '<='} {s.threshold:g}" for s in found),
            f"roll back after {config.rollback.failure_limit + 1} breached measurement(s)" if config.rollback.enabled
            else "rollback disabled (rollback.enabled: false): breaches are reported only"),
    ]
    if stable == sha:
        changes = [f"{service} in {environment} already runs {sha[:12]}: nothing to change"]
    return DeployPlan(
        deployment_id=f"dep-{uuid.uuid4().hex[:12]}", service=service, environment=environment, target=env.target,
        ref=ref, sha=sha, source=str(root), strategy=chosen, steps=steps, slos=found, interval_s=interval_s,
        failure_limit=config.rollback.failure_limit, stable_sha=stable, production=env.production, gates=gates,
        started_by=started_by, changes=changes)


async def execute(plan: DeployPlan, config: OrchestraConfig, store: Store, say: Say = lambda _: None
                  ) -> DeploymentRecord:
    """Deploy plan: it ends succeeded, rolled_back (the breach named) or failed (the reason named)."""
    record = DeploymentRecord(plan=plan, state="running", started_at=datetime.now(UTC))

    def note(line: str) -> None:
        record.timeline.append(line)
        say(line)

    async def save() -> None:
        await asyncio.to_thread(store.save_deployment, record)

    refused = [g for g in plan.gates if not g.passed]
    if refused:
        record.state, record.finished_at = "failed", datetime.now(UTC)
        record.reason = "refused by gate: " + "; ".join(f"{g.name}: {g.detail}" for g in refused)
        await save()
        return record
    await save()
    target = target_for(config, plan.service, plan.environment)
    try:
        with _alone(plan):
            if plan.stable_sha == plan.sha:
                note(f"{plan.sha[:12]} already serves {plan.environment}: nothing to do")
            else:
                await _roll(plan, config, target, record, note, save)
    except Busy as exc:  # another rollout owns the environment: touch nothing of it
        note(f"failed: {exc}")
        record.state, record.reason = "failed", str(exc)
    except DeployError as exc:
        note(f"failed: {exc}")
        record.state, record.reason = "failed", str(exc)
        if plan.stable_sha:
            await _restore(target, plan, record, note)
    except BaseException as exc:  # cancelled (a server stopping) or a bug: recorded, traffic back, then raised
        record.state, record.reason = "failed", f"interrupted: {type(exc).__name__}: {exc}"
        record.finished_at = datetime.now(UTC)
        if plan.stable_sha:
            with contextlib.suppress(Exception):
                await _restore(target, plan, record, note)
        await save()
        raise
    if record.state == "running":
        record.state = "succeeded"
        record.reason = f"{plan.sha[:12]} serves all of {plan.environment}"
        if plan.stable_sha != plan.sha and plan.slos and not any(m.values for m in record.measurements):
            record.reason += " (unjudged: no SLO had data while it was watched: no traffic, or Prometheus not yet)"
    record.finished_at = datetime.now(UTC)
    await save()
    return record


class Busy(DeployError):
    """Another rollout of the same service and environment is under way."""


@contextlib.contextmanager
def _alone(plan: DeployPlan) -> Iterator[None]:
    """One rollout at a time per service and environment on this machine (a lock file held while it runs)."""
    path = state_root() / plan.environment / plan.service / "rollout.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"another deploy or rollback of {plan.service} in {plan.environment} is under way; wait for "
                       "it (devops-orchestra rollouts shows it running), then try again") from None
        yield
    finally:
        os.close(fd)


async def _roll(plan: DeployPlan, config: OrchestraConfig, target: Target, record: DeploymentRecord,
                note: Say, save: Callable[[], object]) -> None:
    note(f"preparing {plan.sha[:12]} ({plan.strategy}) in {plan.environment}")
    await target.prepare(plan)
    note(f"{plan.sha[:12]} is up and healthy, taking no traffic yet")
    for step in _steps(plan):
        await target.set_weight(plan, step.weight)
        note(f"{step.weight}% of requests on {plan.sha[:12]}" + (f"; watching {step.pause_s:g} s" if step.pause_s
                                                                 else ""))
        if not step.pause_s:
            continue
        breach = await watch(target, record, step.weight, step.pause_s, note)
        if breach is None:
            continue
        if not config.rollback.enabled:
            note(f"SLO breached ({breach.message}); rollback is disabled, so the rollout goes on")
            continue
        record.breach = breach
        if plan.stable_sha:
            record.state, record.reason = "rolled_back", f"rolled back: {breach.message}"
        else:  # nothing to roll back to
            record.state, record.reason = "failed", f"{breach.message}; no earlier version to roll back to"
        await _restore(target, plan, record, note)
        return
    await target.promote(plan)
    note(f"promoted: {plan.sha[:12]} is the stable version" + (
        f"; {plan.stable_sha[:12]} stays warm for an instant rollback" if plan.strategy == "blue-green"
        and plan.stable_sha and target.keeps_old_warm else ""))


def _steps(plan: DeployPlan) -> list[Step]:
    """A first deploy has nothing to compare with: its version takes all traffic, watched once."""
    return plan.steps if plan.stable_sha else [Step(weight=100, pause_s=plan.steps[-1].pause_s)]


async def _restore(target: Target, plan: DeployPlan, record: DeploymentRecord, note: Say) -> None:
    await target.abort(plan)
    if not plan.stable_sha:
        note(f"nothing to go back to (the first deploy here): {plan.sha[:12]} keeps serving; deploy a fixed "
             f"version, or `devops-orchestra undeploy {plan.service} --env {plan.environment}`")
        return
    record.restored_at = datetime.now(UTC)
    note(f"all traffic back on {plan.stable_sha[:12]}; {plan.sha[:12]} kept running, taking none, for diagnosis")


async def rollback(config: OrchestraConfig, root: Path, store: Store, *, service: str, environment: str,
                   started_by: str, say: Say = lambda _: None) -> DeploymentRecord:
    """Put the version before the stable one back (instantly when it is still warm, after blue-green)."""
    target = target_for(config, service, environment)
    previous = await _previous(target, store, service, environment)
    back = await plan(config, root, store, service=service, environment=environment, ref=previous,
                      strategy="blue-green", started_by=started_by, sha=previous)
    back = back.model_copy(update={"steps": [Step(weight=100, pause_s=0)], "gates": [], "rollback": True,
                                   "changes": [f"roll {service} in {environment} back to {previous[:12]}"]})
    return await execute(back, config, store, say)


async def _previous(target: Target, store: Store, service: str, environment: str) -> str:
    stable = (await target.status()).stable
    for record in await asyncio.to_thread(store.deployments, service=service, environment=environment, limit=200):
        sha = record.plan.sha
        if record.state == "succeeded" and sha != stable:
            return sha
    raise DeployError(f"{service} in {environment} has no earlier successful deployment to go back to")


async def undeploy(config: OrchestraConfig, *, service: str, environment: str) -> str:
    """Stop everything the environment runs for service; what is left, in a few words."""
    target = target_for(config, service, environment)
    await target.stop()
    return target.stop_leaves

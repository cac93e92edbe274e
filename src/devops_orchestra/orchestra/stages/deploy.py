"""deploy: the built commit rolled out to the repository's first environment (deployment.environments, in
order) for each service that fits its target, and followed to its verdict: promoted, or rolled back on a
breached SLO (then `observability_alert` and `rollback_event` are published beside the result). Never for a
pull request from a fork. An environment with `approval: true` asks a person first (ChatOps shows the
question) and waits for the answer, the worker keeping its lease meanwhile.

A delivery repeated (a worker killed mid-deploy) finds the deployment it started under its effect key and
returns its verdict, or drives the same commit again: every target step is idempotent.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time

from devops_orchestra.deploy import rollout
from devops_orchestra.models.deploy import FINAL_STATES, DeploymentRecord
from devops_orchestra.models.events import (
    DeploymentTriggered,
    Envelope,
    ObservabilityAlert,
    Payload,
    RollbackEvent,
)
from devops_orchestra.models.orchestra import ApprovalRequest
from devops_orchestra.orchestra import approvals
from devops_orchestra.orchestra.retention import retention
from devops_orchestra.orchestra.stages.base import Stage, StageContext
from devops_orchestra.pipeline.config import OrchestraConfig

APPROVAL_POLL_S = 1.0
APPROVAL_WAIT_S = 24 * 3600.0  # unanswered for a day: not deployed
RUNTIME_OF_TARGET = {"local": "local", "kubernetes": "kubernetes"}


def not_deployed(reason: str) -> DeploymentTriggered:
    return DeploymentTriggered(deployment_id="", service="", environment="", strategy="", state="not deployed",
                               reason=reason)


def target_of(config: OrchestraConfig, branch: str) -> tuple[str, str] | str:
    """(service, environment) the pipeline deploys a push to branch to: the first environment taking the branch,
    its first service of that runtime; else why nothing is deployed."""
    for name, env in config.deployment.environments.items():
        if env.branches and not any(fnmatch.fnmatchcase(branch, p) for p in env.branches):
            continue
        service = next((s for s in config.deployment.services if s.runtime == RUNTIME_OF_TARGET[env.target]), None)
        return (service.name, name) if service else (
            f"no service of devops_orchestra.yaml runs on environment {name}'s target {env.target} "
            "(services[].runtime)")
    if config.deployment.environments:
        return f"no environment takes branch {branch!r} (deployment.environments.*.branches)"
    return "devops_orchestra.yaml names no environment to deploy to (deployment.environments)"


def triggered(record: DeploymentRecord) -> DeploymentTriggered:
    plan = record.plan
    state = record.state if record.state in ("succeeded", "rolled_back") else "failed"
    return DeploymentTriggered(deployment_id=plan.deployment_id, service=plan.service, environment=plan.environment,
                               strategy=plan.strategy, state=state, reason=record.reason)


class Deploy(Stage):
    name = "deploy"
    deploys = True
    consumes = "build_ready"
    publishes = "deployment_triggered"

    async def handle(self, event: Envelope, context: StageContext) -> Payload:
        if context.from_fork:
            return not_deployed("a pull request from a fork is never deployed")
        chosen = target_of(context.config, event.ref.removeprefix("refs/heads/"))
        if isinstance(chosen, str):
            return not_deployed(chosen)
        service, environment = chosen
        key = f"{context.effect_key}:deployment"
        earlier = await context.state.get(key)
        record = await asyncio.to_thread(context.store.deployment, earlier) if earlier else None
        if record is not None and record.state in FINAL_STATES:
            return triggered(record)
        if context.config.deployment.environments[environment].approval:
            refusal = await self._approved(event, context, service, environment)
            if refusal:
                return not_deployed(refusal)
        plan = await rollout.plan(context.config, context.checkout, context.store, service=service,
                                  environment=environment, ref=event.ref, sha=event.sha,
                                  started_by=f"pipeline run {event.run_id}")
        await context.state.put(key, plan.deployment_id, ttl_s=retention().effects_s)
        record = await rollout.execute(plan, context.config, context.store)
        if record.state == "rolled_back":
            await _announce_rollback(event, context, record)
        return triggered(record)

    @staticmethod
    async def _approved(event: Envelope, context: StageContext, service: str, environment: str) -> str | None:
        """Ask once and wait for the answer (the worker renews the lease meanwhile); why not, if refused."""
        asked = ApprovalRequest(id=approvals.approval_id(event.run_id, environment), repo=event.repo, ref=event.ref,
                                sha=event.sha, run_id=event.run_id, service=service, environment=environment)
        await approvals.request(context.state, asked)
        deadline = time.monotonic() + APPROVAL_WAIT_S
        while time.monotonic() < deadline:
            answer = await approvals.decision(context.state, asked.id)
            if answer is not None:
                return None if answer.approved else f"{answer.by} declined the deploy to {environment}"
            await asyncio.sleep(APPROVAL_POLL_S)
        return f"nobody approved the deploy to {environment} within {APPROVAL_WAIT_S / 3600:g} h"

    def summary(self, payload: Payload) -> str:
        assert isinstance(payload, DeploymentTriggered)
        if payload.state == "not deployed":
            return f"not deployed: {payload.reason}"
        return (f"{payload.service} to {payload.environment} ({payload.strategy}, {payload.deployment_id}): "
                + (f"failed: {payload.reason}" if payload.state == "failed" else payload.reason))


async def _announce_rollback(event: Envelope, context: StageContext, record: DeploymentRecord) -> None:
    """observability_alert and rollback_event for ChatOps and whoever listens, once per deployment."""
    breach, plan = record.breach, record.plan
    assert breach is not None
    if not await context.state.set_once(f"{context.effect_key}:rollback:{plan.deployment_id}", "1",
                                        ttl_s=retention().effects_s):
        return
    await context.state.publish("observability_alert", event.follow(ObservabilityAlert(
        service=plan.service, environment=plan.environment, slo=breach.slo, measured=breach.measured,
        threshold=breach.threshold)))
    await context.state.publish("rollback_event", event.follow(RollbackEvent(
        service=plan.service, environment=plan.environment, from_version=plan.sha, to_version=plan.stable_sha,
        reason=breach.message)))


STAGE = Deploy()

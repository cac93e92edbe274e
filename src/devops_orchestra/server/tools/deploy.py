"""deploy, rollout_status and rollback: a service's environments from the IDE. Offered only when the server
runs with --allow-deploy (never --read-only).

A deploy shows its plan first. A client that supports elicitation is asked to confirm it there; any other
gets the plan and a single-use confirmation token, and deploys by calling again with it. A wrong, used or
expired token is refused and starts nothing. A production environment also needs a passing review verdict
and compliance gate for the sha (from the run store). A confirmed deploy runs in the server's background:
rollout_status follows it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from devops_orchestra.models.deploy import DeployAnswer, DeploymentRecord, DeployPlan
from devops_orchestra.server.results import structured, tool_errors
from devops_orchestra.server.state import AppState

DEPLOYS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)
STATUS = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
TOKEN_TTL_S = 15 * 60

Service = Annotated[str, Field(description="A service of devops_orchestra.yaml's deployment.services.")]
EnvironmentName = Annotated[str, Field(description="An environment of deployment.environments.")]
RepoPath = Annotated[str, Field(description="The repository, relative to the workspace root.")]
StrategyArg = Annotated[Literal["rolling", "blue-green", "canary"] | None,
                        Field(description="Default: the environment's, else deployment.strategy.")]


class Confirm(BaseModel):
    """What the person answers to a deploy's plan."""

    deploy: bool = Field(description="Deploy as planned")


class NotAsked(BaseModel):
    """The client cannot be asked (no elicitation), or a confirmation token came with the call."""


@dataclass
class _Pending:
    plan: DeployPlan
    expires: float


_PENDING: dict[str, _Pending] = {}  # confirmation token -> the plan it confirms
_RUNNING: set[asyncio.Task[Any]] = set()  # deploys in the background, kept from the garbage collector


def _can_elicit(ctx: Context[AppState]) -> bool:
    caps = ctx.request_context.session.client_capabilities if ctx.request_context.session else None
    found = caps.elicitation if caps is not None else None
    return found is not None and (found.form is not None or found.url is None)


async def _ask(ctx: Context[AppState], service: str, ref: str, environment: str, strategy: StrategyArg = None,
               path: str = ".", confirmation: str | None = None) -> Elicit[Confirm] | NotAsked:
    """Ask the person to confirm the plan, where the client can ask and no token came with the call."""
    if confirmation or not _can_elicit(ctx):
        return NotAsked()
    with tool_errors():
        plan = await _make_plan(ctx, service, environment, ref, strategy, path)
    from devops_orchestra.render.deploy import plan_text

    # The question must read the same on every round of the call: the plan without its fresh id.
    return Elicit(plan_text(plan).replace(f" {plan.deployment_id}", "") + "\n\nDeploy?", Confirm)


async def _make_plan(ctx: Context[AppState], service: str, environment: str, ref: str, strategy: Any, path: str
                     ) -> DeployPlan:
    from devops_orchestra.deploy import rollout

    state = ctx.request_context.lifespan_context
    root = state.roots.resolve(path)
    plan = await rollout.plan(rollout.config_at(root), root, state.store, service=service, environment=environment,
                              ref=ref, strategy=strategy, started_by=f"mcp client {_client_name(ctx)}")
    refused = [g for g in plan.gates if not g.passed]
    if refused:
        raise ToolError(f"{environment} is a production environment and {plan.sha[:12]} has not passed its gates: "
                        + "; ".join(f"{g.name}: {g.detail}" for g in refused) + ". Nothing was deployed.")
    return plan


def _client_name(ctx: Context[AppState]) -> str:
    try:
        info = ctx.request_context.session.client_params
        return str(info.client_info.name) if info else "(unnamed)"
    except (AttributeError, ValueError):
        return "(unnamed)"


async def _start(ctx: Context[AppState], plan: DeployPlan, path: str) -> None:
    """Record the deploy as running, then run it in the background."""
    from datetime import UTC, datetime

    from devops_orchestra.deploy import rollout

    state = ctx.request_context.lifespan_context
    config = rollout.config_at(state.roots.resolve(path))
    await asyncio.to_thread(state.store.save_deployment,
                            DeploymentRecord(plan=plan, state="running", started_at=datetime.now(UTC)))
    task = asyncio.create_task(rollout.execute(plan, config, state.store))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


def register(server: MCPServer[AppState]) -> None:
    """Add deploy, rollout_status and rollback to server."""
    @server.tool(
        name="deploy",
        title="Deploy",
        description="Deploy a service's commit to an environment (blue-green, canary or rolling), watch its SLOs "
                    "and roll back on a breach. Shows the plan and asks to confirm it; without elicitation, call "
                    "again with the confirmation token the plan returns. Then follow it with rollout_status.",
        annotations=DEPLOYS,
    )
    async def deploy(
        ctx: Context[AppState],
        service: Service,
        ref: Annotated[str, Field(description="Branch, tag or sha to deploy.")],
        environment: EnvironmentName,
        answer: Annotated[ElicitationResult[Confirm], Resolve(_ask)],
        strategy: StrategyArg = None,
        path: RepoPath = ".",
        confirmation: Annotated[str | None, Field(description="The token a previous call's plan returned.")] = None,
    ) -> Annotated[CallToolResult, DeployAnswer]:
        from devops_orchestra.render.deploy import plan_text

        with tool_errors():
            if confirmation is not None:
                plan = _redeem(confirmation, service, environment, ref)
                await _start(ctx, plan, path)
                result = DeployAnswer(status="started", plan=plan, message=f"Deploying: follow it with "
                                      f"rollout_status({plan.deployment_id!r}).")
            elif isinstance(answer, AcceptedElicitation) and isinstance(answer.data, Confirm):
                plan = await _make_plan(ctx, service, environment, ref, strategy, path)
                if answer.data.deploy:
                    await _start(ctx, plan, path)
                    result = DeployAnswer(status="started", plan=plan, message=f"Confirmed; deploying: follow it "
                                          f"with rollout_status({plan.deployment_id!r}).")
                else:
                    result = DeployAnswer(status="not confirmed", plan=plan, message="Not deployed.")
            elif isinstance(answer, AcceptedElicitation):  # the client cannot be asked: a token for a second call
                plan = await _make_plan(ctx, service, environment, ref, strategy, path)
                token = secrets.token_urlsafe(16)
                _forget_expired()
                _PENDING[token] = _Pending(plan, time.monotonic() + TOKEN_TTL_S)
                result = DeployAnswer(status="needs confirmation", plan=plan, confirmation_token=token,
                                      message="Show this plan to the person; if they agree, call deploy again "
                                              "with the same service, ref and environment and this confirmation.")
            else:
                plan = await _make_plan(ctx, service, environment, ref, strategy, path)
                result = DeployAnswer(status="not confirmed", plan=plan, message="Declined; not deployed.")
        return structured(result, f"{result.status}: {result.message}\n{plan_text(result.plan)}")

    @server.tool(name="rollout_status", title="Rollout status", annotations=STATUS,
                 description="A deployment: its state (running, succeeded, rolled_back, failed), the breached SLO "
                             "with its measured value, measurements and timeline.")
    async def rollout_status(
        ctx: Context[AppState],
        deployment_id: Annotated[str, Field(description="The id deploy returned in its plan.")],
    ) -> Annotated[CallToolResult, DeploymentRecord]:
        from devops_orchestra.render.deploy import record_text

        state = ctx.request_context.lifespan_context
        record = await asyncio.to_thread(state.store.deployment, deployment_id)
        if record is None:
            raise ToolError(f"no deployment {deployment_id!r} in the run store; deploy returns the id in its plan")
        return structured(record, record_text(record))

    @server.tool(name="rollback", title="Roll back", annotations=DEPLOYS,
                 description="Put the version before the stable one back in an environment (instant when it is "
                             "still warm, after a blue-green deploy).")
    async def rollback(
        ctx: Context[AppState],
        service: Service,
        environment: EnvironmentName,
        path: RepoPath = ".",
    ) -> Annotated[CallToolResult, DeploymentRecord]:
        from devops_orchestra.deploy import rollout
        from devops_orchestra.render.deploy import record_text

        state = ctx.request_context.lifespan_context
        with tool_errors():
            root = state.roots.resolve(path)
            record = await rollout.rollback(rollout.config_at(root), root, state.store, service=service,
                                            environment=environment, started_by=f"mcp client {_client_name(ctx)}")
        return structured(record, record_text(record))


def _redeem(token: str, service: str, environment: str, ref: str) -> DeployPlan:
    """The plan a token confirms, once; refused when unknown, used, expired or for another deploy."""
    _forget_expired()
    pending = _PENDING.pop(token, None)
    if pending is None:
        raise ToolError("Refused: this confirmation token is unknown, used already or expired. Nothing was "
                        "deployed; call deploy without a confirmation to get a fresh plan and token.")
    plan = pending.plan
    if (plan.service, plan.environment, plan.ref) != (service, environment, ref):
        raise ToolError(f"Refused: the confirmation token is for {plan.service} {plan.ref} in {plan.environment}, "
                        "not this deploy. Nothing was deployed; the token is spent.")
    return plan


def _forget_expired() -> None:
    now = time.monotonic()
    for token in [t for t, p in _PENDING.items() if p.expires < now]:
        del _PENDING[token]

"""The review agent: decide from the repository and the request which agents apply (registry.plan), run them
at once with shared work done once (shared_work), and give one verdict over all their findings (verdict)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

from devops_orchestra.agents import registry
from devops_orchestra.agents.runs import Progress, recorded
from devops_orchestra.agents.shared_work import Outcome, Shared
from devops_orchestra.agents.verdict import merge, verdict
from devops_orchestra.core.cache import ScanCache
from devops_orchestra.core.proc import Runner
from devops_orchestra.core.store import Store
from devops_orchestra.core.workspace import build_inventory, changed_files
from devops_orchestra.models import AgentRun, Finding, GateResult, ReviewReport, ReviewVerdict
from devops_orchestra.models.requests import ReviewRequest


async def review(
    target: Path,
    *,
    request: str = "",
    changed_since: str | None = None,
    plan_only: bool = False,
    cache: ScanCache | None = None,
    runners: Mapping[str, Runner] | None = None,
    progress: Progress | None = None,
    display_path: str = ".",
    run_id: str = "",
) -> ReviewReport:
    """Plan the agents for target and request; unless plan_only, run them and judge what they found."""
    started = time.perf_counter()
    changed = await asyncio.to_thread(changed_files, target, changed_since, False) if changed_since else None
    inventory = await asyncio.to_thread(build_inventory, target, changed)
    planned = registry.plan(inventory, request)
    findings: list[Finding] = []
    judged: ReviewVerdict = "plan only"
    reasons: list[str] = []
    runs: list[AgentRun] = []
    gate: GateResult | None = None
    if not plan_only:
        chosen = [a for a, p in zip(registry.AGENTS, planned, strict=True) if p.run]
        names = {a.name for a in chosen}
        shared = Shared(target, inventory, cache, runners, changed_only=changed is not None,
                        sql_rides_along="sql" in names and bool({"security", "compliance"} & names))
        runs, outcomes = await _run_all(chosen, shared, progress)
        findings = merge([f for o in outcomes.values() for f in o.findings])
        gate = outcomes["compliance"].gate if "compliance" in outcomes else None
        judged, reasons = verdict(findings, gate, runs)
    return ReviewReport(
        run_id=run_id, root=str(inventory.base), path=display_path, request=request, plan=planned,
        changed_only=f"files changed since {changed_since}" if changed_since else None,
        duration_s=round(time.perf_counter() - started, 2), findings=findings, verdict=judged,
        verdict_reasons=reasons, agents=runs, compliance_gate=gate,
    )


async def _run_all(chosen: list[registry.AgentSpec], shared: Shared,
                   progress: Progress | None) -> tuple[list[AgentRun], dict[str, Outcome]]:
    for agent in chosen:
        shared.start(agent.name, agent.work)
    tasks = list(shared.agents.values())
    runs: dict[str, AgentRun] = {}
    outcomes: dict[str, Outcome] = {}
    try:
        for done in asyncio.as_completed(tasks):
            run, outcome = await done
            runs[run.agent] = run
            if outcome:
                outcomes[run.agent] = outcome
            if progress:
                await progress(len(runs), len(tasks), f"{run.agent}: {run.summary}")
    finally:  # cancelled: cancel every agent, which kills their scanners
        await shared.stop()
    return [runs[a.name] for a in chosen], outcomes


async def recorded_review(
    store: Store, request: ReviewRequest, *, progress: Progress | None = None,
    runners: Mapping[str, Runner] | None = None, cache: ScanCache | None = None,
) -> ReviewReport:
    """review, kept in the run store."""
    return await recorded(store, "review", request, lambda run_id: review(
        request.target, request=request.request, changed_since=request.changed_since, plan_only=request.plan_only,
        display_path=request.display_path, run_id=run_id, progress=progress, runners=runners, cache=cache))

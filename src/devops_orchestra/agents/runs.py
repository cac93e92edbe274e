"""What every agent shares: run ids, ranking, test code judged, and keeping a run in the store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from devops_orchestra.core.redaction import hide_secrets
from devops_orchestra.core.store import Store
from devops_orchestra.core.workspace import Inventory
from devops_orchestra.models import AgentReport, Finding, Severity
from devops_orchestra.models.requests import AgentRequest

R = TypeVar("R", bound=AgentReport)
Progress = Callable[[float, float, str], Awaitable[None]]  # (done, total, message), as MCP reports it
CONFIDENCE_RANK = {"high": 2, "medium": 1, "low": 0}


def new_run_id() -> str:
    """A fresh run id: 12 hex characters."""
    return uuid.uuid4().hex[:12]


# Configuration hygiene (resource limits, probes, seccomp...): at one severity, code vulnerabilities and
# secrets come first, so a page cut by the response budget does not bury them under many such checks.
HYGIENE = frozenset({"iac-misconfiguration"})


def rank_key(f: Finding) -> tuple[int, bool, int, int, str, int, str]:
    """Most severe, then code and secrets before configuration hygiene, then most certain (confirmed by more
    scanners), first; ties in file order."""
    return (-f.severity.rank, f.category in HYGIENE, -CONFIDENCE_RANK[f.confidence], -len(f.sources),
            f.location.path, f.location.start_line, f.rule_id)



def judge_test_code(findings: list[Finding], inventory: Inventory) -> list[Finding]:
    """Findings in test code stay visible but rank last, as info."""
    test_paths = {f.rel for f in inventory.files if f.is_test}
    return [
        f.model_copy(update={
            "in_test_code": True,
            "severity": Severity.info,
            "message": f"In test code (would be {f.severity.value} elsewhere): {f.message}",
        }) if f.location.path in test_paths else f
        for f in findings
    ]



async def recorded(store: Store, agent: str, request: AgentRequest, run: Callable[[str], Awaitable[R]]) -> R:
    """run(run_id), kept in the run store with its request: begun before it starts, failed or finished after."""
    run_id = new_run_id()
    arguments = request.model_dump(mode="json", exclude={"target"})
    # Recorded while the run starts (its git and SQLite work is a fifth of an unchanged rescan), not before.
    begun = asyncio.ensure_future(asyncio.to_thread(
        store.begin, run_id, agent=agent, target=request.target, path=request.display_path, arguments=arguments))
    try:
        report = await run(run_id)
        await begun
    except BaseException as exc:  # cancelled or crashed: the history says so
        reason = "cancelled" if isinstance(exc, asyncio.CancelledError) else f"{type(exc).__name__}: {exc}"

        async def failed() -> None:
            await asyncio.wait([begun])  # the row to mark exists first
            await asyncio.to_thread(store.fail, run_id, reason)

        await asyncio.shield(failed())
        raise
    # The one place every agent's report passes before anyone sees it: no secret value leaves.
    report = report.model_copy(update={"findings": hide_secrets(report.findings)})
    await asyncio.to_thread(store.finish, report)
    return report

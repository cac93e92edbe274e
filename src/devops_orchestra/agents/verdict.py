"""The review's one verdict over every agent's findings: blocked by a gate, needs changes, or safe to merge."""

from __future__ import annotations

from devops_orchestra.agents.runs import rank_key
from devops_orchestra.models import AgentRun, Finding, GateResult, ReviewVerdict

REASONS_SHOWN = 5


def merge(findings: list[Finding]) -> list[Finding]:
    """One finding per id (compliance hands back security's findings with their controls: keep those)."""
    by_id: dict[str, Finding] = {}
    for f in findings:
        if f.id not in by_id or (f.controls and not by_id[f.id].controls):
            by_id[f.id] = f
    return sorted(by_id.values(), key=rank_key)


def verdict(findings: list[Finding], gate: GateResult | None,
            runs: list[AgentRun]) -> tuple[ReviewVerdict, list[str]]:
    """The verdict and why: a blocked gate first, then critical or high findings outside tests, failed agents."""
    if gate and gate.status == "blocked":
        return "blocked by gate", gate.reasons
    serious = [f for f in findings if f.severity.rank >= 3 and not f.in_test_code]
    reasons = [f"{f.severity.value}: {f.location.path}:{f.location.start_line} {f.title}"
               for f in serious[:REASONS_SHOWN]]
    if len(serious) > REASONS_SHOWN:
        reasons.append(f"... and {len(serious) - REASONS_SHOWN} more critical or high findings")
    reasons += [f"agent {r.agent} failed: {r.error}" for r in runs if r.status == "failed"]
    if reasons:
        return "needs changes", reasons
    return "safe to merge", ["no critical or high findings outside test code"]

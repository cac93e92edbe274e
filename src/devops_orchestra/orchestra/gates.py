"""Gates between stages, from devops_orchestra.yaml's `orchestra.gates`: whether a run goes on after a stage."""

from __future__ import annotations

from devops_orchestra.models.events import CodeAnalysisResult, Payload
from devops_orchestra.models.orchestra import GateStop
from devops_orchestra.pipeline.config import Gates

BAD_VERDICTS = ("needs changes", "blocked by gate")


def check(payload: Payload, next_stage: str | None, ref: str, gates: Gates) -> GateStop | None:
    """The gate that stops the run after a stage that produced payload (before next_stage), or None."""
    if isinstance(payload, CodeAnalysisResult) and payload.verdict in BAD_VERDICTS and gates.verdict == "stop":
        why = "; ".join(payload.reasons[:3]) or f"{payload.findings} findings"
        return GateStop(gate="verdict", reason=(
            f"the analysis says {payload.verdict!r} ({why}). Fix what it found, or set orchestra.gates.verdict: "
            "warn in devops_orchestra.yaml to go on regardless."))
    branch = ref.removeprefix("refs/heads/")
    if next_stage == "deploy" and gates.deploy_branches and branch not in gates.deploy_branches:
        return GateStop(gate="deploy_branches", reason=(
            f"{branch!r} is not a deploy branch (orchestra.gates.deploy_branches: "
            f"{', '.join(gates.deploy_branches)}); merge into one of them to deploy."))
    return None


def warning(payload: Payload, gates: Gates) -> str:
    """What a gate set to warn lets through, for the stage's summary; empty when nothing."""
    if isinstance(payload, CodeAnalysisResult) and payload.verdict in BAD_VERDICTS and gates.verdict == "warn":
        return f" (gate verdict set to warn: going on despite {payload.verdict!r})"
    return ""

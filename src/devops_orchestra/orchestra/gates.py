"""Gates between stages, from devops_orchestra.yaml's `orchestra.gates`: whether a run goes on after a stage."""

from __future__ import annotations

from devops_orchestra.models.events import (
    CodeAnalysisResult,
    DeploymentTriggered,
    ObservabilityAlert,
    Payload,
    TestResults,
)
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
    if isinstance(payload, TestResults):
        return _tests(payload, gates)
    branch = ref.removeprefix("refs/heads/")
    if next_stage == "deploy" and gates.deploy_branches and branch not in gates.deploy_branches:
        return GateStop(gate="deploy_branches", reason=(
            f"{branch!r} is not a deploy branch (orchestra.gates.deploy_branches: "
            f"{', '.join(gates.deploy_branches)}); merge into one of them to deploy."))
    return None


def failure(payload: Payload) -> str | None:
    """Why a run fails although its stage did its work: the deploy failed, or a rollout was rolled back."""
    if isinstance(payload, DeploymentTriggered) and payload.state == "failed":
        return f"the deploy of {payload.service} to {payload.environment} failed: {payload.reason}"
    if isinstance(payload, ObservabilityAlert) and payload.breached:
        return (f"{payload.service} in {payload.environment} was rolled back: {payload.slo} measured "
                f"{payload.measured:.4g}, threshold {payload.threshold:g}")
    return None


def _tests(payload: TestResults, gates: Gates) -> GateStop | None:
    if payload.problems and gates.code_checks == "stop":
        return GateStop(gate="code_checks", reason=(
            f"the code checks found what breaks at run time: {'; '.join(payload.problems[:3])}. Fix it, or set "
            "orchestra.gates.code_checks: warn in devops_orchestra.yaml to go on regardless."))
    if payload.outcome == "failed" and gates.tests == "stop":
        return GateStop(gate="tests", reason=(
            f"the tests failed ({payload.reason or f'{payload.failed} failing'}). Fix them, or set "
            "orchestra.gates.tests: warn in devops_orchestra.yaml to go on regardless."))
    floor, measured = gates.changed_coverage, payload.changed_coverage
    if floor is not None and measured is not None and measured < floor:
        return GateStop(gate="changed_coverage", reason=(
            f"the tests run {measured:g}% of the changed lines, below orchestra.gates.changed_coverage ({floor:g}%). "
            "Add tests for the change (test_gaps lists the uncovered functions it touches), or lower the floor."))
    return None


def warning(payload: Payload, gates: Gates) -> str:
    """What a gate set to warn lets through, for the stage's summary; empty when nothing."""
    if isinstance(payload, CodeAnalysisResult) and payload.verdict in BAD_VERDICTS and gates.verdict == "warn":
        return f" (gate verdict set to warn: going on despite {payload.verdict!r})"
    if isinstance(payload, TestResults) and payload.outcome == "failed" and gates.tests == "warn":
        return " (gate tests set to warn: going on despite failing tests)"
    if isinstance(payload, TestResults) and payload.problems and gates.code_checks == "warn":
        return f" (gate code_checks set to warn: going on despite {len(payload.problems)} run-time errors)"
    return ""

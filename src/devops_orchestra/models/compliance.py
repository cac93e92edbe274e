"""What the compliance agent returns: controls per framework, evidence and the gate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devops_orchestra.models.base import Model
from devops_orchestra.models.findings import AgentReport, ScannerRun, ScanScope


class Evidence(Model):
    """A place in the repository that shows a control met or broken."""

    path: str
    line: int | None = None
    note: str | None = None
    finding_id: str | None = None


# One control of a framework: passed, failed or not assessable, why, and the evidence.
class ControlResult(Model):
    id: str
    title: str
    status: Literal["pass", "fail", "not_assessable"]
    why: str = Field(description="How the status was reached.")
    evidence: list[Evidence] = Field(default_factory=list, description="At most 3; see evidence_total.")
    evidence_total: int = 0
    remediation: str | None = Field(default=None, description="Only when it fails.")
    manual_evidence: str | None = Field(default=None, description="What a person must supply.")


# One framework's controls, counted, with its score.
class FrameworkResult(Model):
    framework: str
    name: str
    version: str | None = None
    score: float | None = Field(description="Percent of assessable controls that pass; null if none is.")
    passed: int
    failed: int
    not_assessable: int
    controls: list[ControlResult]


# Whether the compliance gates let the change through, and which gate tripped.
class GateResult(Model):
    status: Literal["passed", "blocked"]
    reasons: list[str] = Field(default_factory=list, description="Each tripped gate and why.")
    gates: list[str] = Field(description="The gates applied.")


# What compliance_check returns: controls per framework, the gate, the scanners run.
class ComplianceReport(AgentReport):
    agent = "compliance"
    frameworks: list[FrameworkResult]
    gate: GateResult
    policy_files: list[str] = Field(default_factory=list, description="Organisation policy files applied.")
    scanners: list[ScannerRun]
    scope: ScanScope
    warnings: list[str] = Field(default_factory=list)

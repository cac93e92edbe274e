"""The data every agent returns: findings, scanner run records and reports."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: critical 4 ... info 0."""
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, value: str | None, default: Severity | None = None) -> Severity:
        try:
            return cls(str(value).lower())
        except ValueError:
            if default is None:
                raise
            return default


_SEVERITY_RANK = {Severity.critical: 4, Severity.high: 3, Severity.medium: 2, Severity.low: 1, Severity.info: 0}

Confidence = Literal["high", "medium", "low"]
ScannerName = Literal["semgrep", "bandit", "secrets", "checkov", "deps", "sql", "architecture",
                      "hadolint", "actionlint", "check-jsonschema", "parse"]
RunStatus = Literal["ok", "failed", "timeout", "skipped", "unavailable"]


def _lean_schema(schema: dict[str, Any]) -> None:
    """Tool schemas sit in the client's context on every turn: drop what a reader does not need.

    Optional fields are never sent as null (responses exclude None), so they show as their plain type.
    """
    schema.pop("title", None)
    schema.pop("additionalProperties", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        variants = prop.get("anyOf", [])
        if len(variants) == 2 and {"type": "null"} in variants and prop.get("default", 0) is None:
            del prop["anyOf"], prop["default"]
            prop.update(next(v for v in variants if v != {"type": "null"}))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_lean_schema)


class Location(_Model):
    path: str = Field(description="Relative to report.root.")
    start_line: int
    end_line: int
    start_column: int | None = None
    end_column: int | None = None
    snippet: str | None = None


class Remediation(_Model):
    summary: str
    fix: str | None = None
    references: list[str] = Field(default_factory=list)


class Finding(_Model):
    id: str = Field(description="Stable across edits above it.")
    rule_id: str
    scanner: ScannerName
    sources: list[str] = Field(default_factory=list, description="Other rules that found it too.")
    category: str
    severity: Severity
    confidence: Confidence = "medium"
    title: str
    message: str
    location: Location
    cwe: str | None = None
    owasp: str | None = None
    remediation: Remediation
    in_test_code: bool = False
    status: Literal["new", "existing"] | None = None
    controls: list[str] | None = None  # compliance controls it breaks, e.g. "soc2:CC6.7"


class ScannerRun(_Model):
    name: ScannerName
    version: str | None = None
    status: RunStatus
    duration_s: float = 0.0
    findings: int = 0
    files: int = 0
    cached: int = Field(default=0, description="Files answered from the scan cache.")
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)


class SkippedFile(_Model):
    path: str
    reason: str


class ScanScope(_Model):
    """What was scanned, what was left out and why, what counted as test code."""

    files_scanned: int = 0
    files_skipped: int = 0
    skipped_by_reason: dict[str, int] = Field(default_factory=dict)
    skipped_examples: list[SkippedFile] = Field(default_factory=list)
    test_files: int = 0
    test_examples: list[str] = Field(default_factory=list)
    test_findings_demoted: int = 0
    changed_only: str | None = None


class SeveritySummary(_Model):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    info: int = 0
    total: int = 0


class AgentReport(_Model):
    """What every agent's report has; the store keeps, pages and compares them all alike."""

    agent: ClassVar[str]
    run_id: str
    root: str = Field(description="The analysed directory; finding paths are relative to it.")
    path: str
    duration_s: float
    summary: SeveritySummary = Field(description="Over all findings, returned or not.")
    findings: list[Finding] = Field(description="Worst first.")
    findings_returned: int
    findings_total: int
    truncated: bool = Field(description="Findings were cut; see full_report.")
    full_report: str | None = Field(default=None, description="Resource with every finding.")


class SecurityReport(AgentReport):
    agent = "security"
    baseline_run_id: str | None = Field(default=None, description="Run that `status` compares with.")
    scanners: list[ScannerRun]
    scope: ScanScope


class Evidence(_Model):
    """A place in the repository that shows a control met or broken."""

    path: str
    line: int | None = None
    note: str | None = None
    finding_id: str | None = None


class ControlResult(_Model):
    id: str
    title: str
    status: Literal["pass", "fail", "not_assessable"]
    why: str = Field(description="How the status was reached.")
    evidence: list[Evidence] = Field(default_factory=list, description="At most 3; see evidence_total.")
    evidence_total: int = 0
    remediation: str | None = Field(default=None, description="Only when it fails.")
    manual_evidence: str | None = Field(default=None, description="What a person must supply.")


class FrameworkResult(_Model):
    framework: str
    name: str
    version: str | None = None
    score: float | None = Field(description="Percent of assessable controls that pass; null if none is.")
    passed: int
    failed: int
    not_assessable: int
    controls: list[ControlResult]


class GateResult(_Model):
    status: Literal["passed", "blocked"]
    reasons: list[str] = Field(default_factory=list, description="Each tripped gate and why.")
    gates: list[str] = Field(description="The gates applied.")


class ComplianceReport(AgentReport):
    agent = "compliance"
    frameworks: list[FrameworkResult]
    gate: GateResult
    policy_files: list[str] = Field(default_factory=list, description="Organisation policy files applied.")
    scanners: list[ScannerRun]
    scope: ScanScope
    warnings: list[str] = Field(default_factory=list)


Band = Literal["elite", "high", "medium", "low"]


class DoraMetric(_Model):
    name: Literal["deployment_frequency", "lead_time_for_changes", "change_failure_rate", "time_to_restore"]
    value: float | None = Field(description="Null when the history has nothing to measure.")
    unit: str
    band: Band | None = Field(
        default=None, description="DORA performance band (State of DevOps thresholds).")
    samples: int
    derived: str = Field(description="How the value was computed from this repository's history.")


class DeploymentRecord(_Model):
    ref: str = Field(description="The tag, or the merge commit.")
    commit: str
    at: float = Field(description="Unix time.")
    changes: int = Field(description="Commits it shipped first.")
    failed_by: str | None = None
    restored_after_h: float | None = None


class DoraReport(AgentReport):
    agent = "dora"
    days: int
    default_branch: str
    deployment_source: str
    metrics: list[DoraMetric]
    deployments: list[DeploymentRecord] = Field(description="Newest first, at most 30.")
    deployments_total: int


class PlannedAgent(_Model):
    agent: str
    tools: list[str]
    scanners: list[str] = Field(description="External scanners it runs.")
    why: str = Field(description="Why it applies to this repository and request, or why not.")
    run: bool


class AgentRun(_Model):
    agent: str
    status: Literal["ok", "failed"]
    duration_s: float
    findings: int = 0
    summary: str = Field(description="Its one-line result.")
    error: str | None = None


Verdict = Literal["safe to merge", "needs changes", "blocked by gate", "plan only"]


class ReviewReport(AgentReport):
    agent = "review"
    request: str = ""
    plan: list[PlannedAgent]
    verdict: Verdict
    verdict_reasons: list[str] = Field(default_factory=list)
    agents: list[AgentRun] = Field(default_factory=list)
    compliance_gate: GateResult | None = None
    changed_only: str | None = None


class ScannerStatus(_Model):
    name: str
    installed: bool
    version: str | None = None


class AgentInfo(_Model):
    name: str
    description: str
    tools: list[str]
    scanners: list[ScannerStatus]


class AgentList(_Model):
    agents: list[AgentInfo]


class SqlReport(AgentReport):
    agent = "sql"
    dialect: str = Field(description="As asked, or 'detected' (per file; postgres when nothing tells).")
    files_by_kind: dict[str, int] = Field(
        default_factory=dict, description="sql, alembic, django, code (SQL in Python), semgrep (JS/TS/Go/Java).")
    scanners: list[ScannerRun]
    scope: ScanScope

"""Findings, the scanner runs that produced them, and what every agent's report has."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from devops_orchestra.models.base import Model, lean_schema


# How bad a finding is, from critical down to info.
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
        """Read a severity in any case ("HIGH"); default if value is none of them (ValueError if no default)."""
        try:
            return cls(str(value).lower())
        except ValueError:
            if default is None:
                raise
            return default


_SEVERITY_RANK = {Severity.critical: 4, Severity.high: 3, Severity.medium: 2, Severity.low: 1, Severity.info: 0}

Confidence = Literal["high", "medium", "low"]
ScannerName = Literal["semgrep", "bandit", "secrets", "checkov", "zizmor", "deps", "sql", "architecture",
                      "hadolint", "actionlint", "check-jsonschema", "parse",
                      "entrypoint", "deptry", "ruff", "eslint"]
RunStatus = Literal["ok", "failed", "timeout", "skipped", "unavailable"]


# Where a finding is: file, lines, columns and the code there.
class Location(Model):
    path: str = Field(description="Relative to report.root.")
    start_line: int
    end_line: int
    start_column: int | None = None
    end_column: int | None = None
    snippet: str | None = None


# How to fix a finding, with references.
class Remediation(Model):
    summary: str
    fix: str | None = None
    references: list[str] = Field(default_factory=list)


# One problem found: which rule, how bad, where, and how to fix it.
class Finding(Model):
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
    resource: str | None = None  # the IaC resource it is about, e.g. aws_s3_bucket.logs
    # in an answer: the other rules failing on this resource, folded into this entry (full_report has each)
    folded: list[str] | None = None
    cwe: str | None = None
    owasp: str | None = None
    remediation: Remediation
    in_test_code: bool = False
    status: Literal["new", "existing"] | None = None
    controls: list[str] | None = None  # compliance controls it breaks, e.g. "soc2:CC6.7"


# One scanner's run: its version, status, time taken and how much it found.
class ScannerRun(Model):
    name: ScannerName
    version: str | None = None
    status: RunStatus
    duration_s: float = 0.0
    findings: int = 0
    files: int = 0
    cached: int = Field(default=0, description="Files answered from the scan cache.")
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)


# A file left out of a scan, and why.
class SkippedFile(Model):
    path: str
    reason: str


# What was scanned, what was left out and why, what counted as test code (a comment, not a docstring: it
# would repeat in every tool's output schema).
class ScanScope(Model):
    files_scanned: int = 0
    files_skipped: int = 0
    skipped_by_reason: dict[str, int] = Field(default_factory=dict)
    skipped_examples: list[SkippedFile] = Field(default_factory=list)
    test_files: int = 0
    test_examples: list[str] = Field(default_factory=list)
    test_findings_demoted: int = 0
    changed_only: str | None = None


# How many findings there are of each severity.
class SeveritySummary(Model):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    info: int = 0
    total: int = 0

    @classmethod
    def of(cls, findings: list[Finding]) -> SeveritySummary:
        """How many findings there are of each severity."""
        counts = {s.value: 0 for s in Severity}
        for f in findings:
            counts[f.severity.value] += 1
        return cls(**counts, total=len(findings))


# Always in a report, so required in its schema, though a report is built from its findings alone.
_COUNTS = ("summary", "findings_returned", "findings_total", "truncated")


def _report_schema(schema: dict[str, Any]) -> None:
    lean_schema(schema)
    required = set(schema.get("required", ())) | set(_COUNTS)
    for name in _COUNTS:
        schema["properties"][name].pop("default", None)
    schema["required"] = [name for name in schema["properties"] if name in required]


class AgentReport(Model):
    """What every agent's report has; the store keeps, pages and compares them all alike."""

    agent: ClassVar[str]
    run_id: str
    root: str = Field(description="The analysed directory; finding paths are relative to it.")
    path: str
    duration_s: float
    summary: SeveritySummary = Field(default_factory=SeveritySummary, description="Over all findings, returned or not.")
    findings: list[Finding] = Field(description="Worst first.")
    findings_returned: int = 0
    findings_total: int = 0
    truncated: bool = Field(default=False, description="Findings were cut; see full_report.")
    more: list[str] | None = Field(default=None, description="Findings past those above, a line each.")
    full_report: str | None = Field(default=None, description="Resource with every finding.")

    model_config = ConfigDict(extra="forbid", json_schema_extra=_report_schema)

    @model_validator(mode="after")
    def _count_findings(self) -> Self:
        """Counts left out are those of every finding: an agent builds its report from the findings alone
        (page() cuts them later and says so)."""
        given = self.model_fields_set
        if "summary" not in given:
            self.summary = SeveritySummary.of(self.findings)
        if "findings_returned" not in given:
            self.findings_returned = len(self.findings)
        if "findings_total" not in given:
            self.findings_total = len(self.findings)
        return self

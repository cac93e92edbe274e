"""Findings, the scanner runs that produced them, and what every agent's report has."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from devops_orchestra.models.base import Model


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


class Location(Model):
    path: str = Field(description="Relative to report.root.")
    start_line: int
    end_line: int
    start_column: int | None = None
    end_column: int | None = None
    snippet: str | None = None


class Remediation(Model):
    summary: str
    fix: str | None = None
    references: list[str] = Field(default_factory=list)


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
    cwe: str | None = None
    owasp: str | None = None
    remediation: Remediation
    in_test_code: bool = False
    status: Literal["new", "existing"] | None = None
    controls: list[str] | None = None  # compliance controls it breaks, e.g. "soc2:CC6.7"


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


class SkippedFile(Model):
    path: str
    reason: str


class ScanScope(Model):
    """What was scanned, what was left out and why, what counted as test code."""

    files_scanned: int = 0
    files_skipped: int = 0
    skipped_by_reason: dict[str, int] = Field(default_factory=dict)
    skipped_examples: list[SkippedFile] = Field(default_factory=list)
    test_files: int = 0
    test_examples: list[str] = Field(default_factory=list)
    test_findings_demoted: int = 0
    changed_only: str | None = None


class SeveritySummary(Model):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    info: int = 0
    total: int = 0


class AgentReport(Model):
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

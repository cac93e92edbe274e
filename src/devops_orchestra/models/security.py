"""What the security agent returns."""

from __future__ import annotations

from pydantic import Field

from devops_orchestra.models.findings import AgentReport, ScannerRun, ScanScope


# What security_scan returns: findings, the scanners run and what was scanned.
class SecurityReport(AgentReport):
    agent = "security"
    baseline_run_id: str | None = Field(default=None, description="Run that `status` compares with.")
    scanners: list[ScannerRun]
    scope: ScanScope

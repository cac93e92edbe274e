"""What the security agent returns."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from devops_orchestra.models.findings import AgentReport, ScannerRun, ScanScope

# The scanners the security agent runs, in its order (scanners.ALL holds one adapter for each).
SecurityScannerName = Literal["semgrep", "bandit", "secrets", "checkov", "zizmor", "deps"]
SECURITY_SCANNERS: tuple[SecurityScannerName, ...] = get_args(SecurityScannerName)


# What security_scan returns: findings, the scanners run and what was scanned.
class SecurityReport(AgentReport):
    agent = "security"
    baseline_run_id: str | None = Field(default=None, description="Run that `status` compares with.")
    scanners: list[ScannerRun]
    scope: ScanScope

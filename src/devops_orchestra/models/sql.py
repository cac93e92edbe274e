"""What the SQL agent returns."""

from __future__ import annotations

from pydantic import Field

from devops_orchestra.models.findings import AgentReport, ScannerRun, ScanScope


# What sql_analysis returns: SQL findings, the files by kind and the dialect.
class SqlReport(AgentReport):
    agent = "sql"
    dialect: str = Field(description="As asked, or 'detected' per file.")
    files_by_kind: dict[str, int] = Field(
        default_factory=dict, description="sql, alembic, django, code (SQL in Python), semgrep (JS/TS/Go/Java).")
    scanners: list[ScannerRun]
    scope: ScanScope


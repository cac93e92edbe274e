"""The SQL rule catalogue as Markdown: one row per rule, each with its five cells intact."""

import re

from devops_orchestra.analyzers.sql.catalog import RULES
from devops_orchestra.models import Finding, Location, Remediation, ScanScope, Severity, SqlReport
from devops_orchestra.render.sql import full_text, rules_markdown


def test_every_rule_is_one_row_of_five_cells() -> None:
    rows = [line for line in rules_markdown().splitlines() if line.startswith("| `sql:")]
    assert len(rows) == len(RULES)
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)[1:-1]  # an escaped \| stays inside its cell
        assert len(cells) == 5, row


def _finding(path: str, line: int, severity: Severity) -> Finding:
    return Finding(id=f"{path}{line}", rule_id="sql:adding-not-null-column", scanner="sql", category="migration",
                   severity=severity, title="A column added NOT NULL without a default", message="It fails.",
                   location=Location(path=path, start_line=line, end_line=line),
                   remediation=Remediation(summary="Add it nullable, backfill, then set NOT NULL."))


def _report(migrations: int, changed_only: str | None = None) -> SqlReport:
    findings = [_finding("app/migrations/0002_b.py", 7, Severity.high), _finding("app/migrations/0001_a.py", 3,
                Severity.medium), _finding("app/migrations/0002_b.py", 9, Severity.medium)]
    return SqlReport(run_id="r", root="/repo", path=".", duration_s=1.0, dialect="postgres", findings=findings,
                     files_by_kind={"django": migrations}, scanners=[], scope=ScanScope(changed_only=changed_only))


def test_a_whole_history_says_so_and_groups_findings_by_migration() -> None:
    text = full_text(_report(migrations=40))
    assert "The whole history: 40 migration and SQL files" in text and "--changed-since main" in text
    headers = [line for line in text.splitlines() if line.startswith("== ")]
    assert headers == ["== app/migrations/0002_b.py: 2 findings", "== app/migrations/0001_a.py: 1 finding"]


def test_a_change_or_a_few_migrations_read_worst_first_without_groups() -> None:
    for report in (_report(migrations=40, changed_only="files changed since main"), _report(migrations=3)):
        text = full_text(report)
        assert "whole history" not in text and not any(line.startswith("== ") for line in text.splitlines())

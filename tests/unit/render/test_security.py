"""Paging a report into the client's budget, and the text a person reads."""

from devops_orchestra.agents.runs import rank_key
from devops_orchestra.models import Finding, Location, Remediation, ScanScope, SecurityReport, Severity, SeveritySummary
from devops_orchestra.render.security import full_text, short_text
from devops_orchestra.server.paging import RESPONSE_BUDGET_CHARS, page


def _finding(i: int, severity: Severity) -> Finding:
    return Finding(
        id=f"{i:016x}", rule_id="bandit:B602", scanner="bandit", category="command-injection", severity=severity,
        confidence="high", title="subprocess call with shell=True", message="x" * 300,
        location=Location(path=f"src/mod{i}.py", start_line=i + 1, end_line=i + 1, snippet="call(cmd, shell=True)"),
        remediation=Remediation(summary="Pass the command as a list and drop shell=True." * 3),
    )


def _report(n: int) -> SecurityReport:
    severities = list(Severity)
    findings = sorted((_finding(i, severities[i % 5]) for i in range(n)), key=rank_key)
    return SecurityReport(
        run_id="r1", root="/repo", path=".", duration_s=1.0, summary=SeveritySummary.of(findings), findings=findings,
        findings_returned=n, findings_total=n, truncated=False, scanners=[], scope=ScanScope(),
    )


def test_page_fits_the_budget_and_keeps_totals() -> None:
    full = _report(1000)
    shown = page(full, max_findings=200, full_report_uri="orchestra://runs/r1/findings.json", text=short_text)
    size = len(shown.model_dump_json(exclude_none=True)) + len(short_text(shown))
    assert size <= RESPONSE_BUDGET_CHARS
    assert 0 < shown.findings_returned < 200 and shown.truncated
    assert shown.findings_total == 1000 and shown.summary.total == 1000
    assert shown.findings == full.findings[: shown.findings_returned]
    assert shown.findings[0].severity is Severity.critical
    assert "orchestra://runs/r1/findings.json" in short_text(shown)


def test_page_respects_max_findings_and_keeps_everything_that_fits() -> None:
    full = _report(30)
    assert page(full, max_findings=5, full_report_uri=None, text=short_text).findings_returned == 5
    everything = page(full, max_findings=200, full_report_uri=None, text=short_text)
    assert everything.findings_returned == 30 and not everything.truncated


def test_text_has_every_finding_with_its_fix() -> None:
    text = full_text(_report(10))
    assert text.count("Fix: Pass the command as a list") == 10
    brief = full_text(_report(10), detail_from=Severity.high)
    assert brief.count("Fix:") == 4 and "[low] src/mod" in brief

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


def test_page_names_in_a_line_each_what_does_not_fit_in_full() -> None:
    full = _report(90)  # about twice what fits in full
    shown = page(full, max_findings=200, full_report_uri=None, text=short_text)
    assert len(shown.model_dump_json(exclude_none=True)) + len(short_text(shown)) <= RESPONSE_BUDGET_CHARS
    assert shown.more and 30 < shown.findings_returned < 90 and shown.truncated
    assert shown.findings_returned + len(shown.more) == 90
    first_cut = full.findings[shown.findings_returned]
    assert shown.more[0] == (f"{first_cut.severity.value} bandit:B602 {first_cut.location.path}:"
                             f"{first_cut.location.start_line} subprocess call with shell=True [{first_cut.id}]")


def _check(check_id: str, severity: Severity, resource: str, line: int, category: str = "iac-misconfiguration",
           ) -> Finding:
    return Finding(
        id=check_id, rule_id=f"checkov:{check_id}", scanner="checkov", category=category, severity=severity,
        title=f"Check {check_id}", message=f"{resource} fails {check_id}.", resource=resource,
        location=Location(path="k8s/app.yaml", start_line=line, end_line=line),
        remediation=Remediation(summary="Set what the check asks for on the resource."),
    )


def test_many_checks_failing_on_one_resource_are_one_entry() -> None:
    findings = [
        _check("CKV_K8S_16", Severity.high, "Deployment.default.web", 24),
        _check("CKV_DO_3", Severity.high, "Deployment.default.web", 28, category="secret"),
        _check("CKV_K8S_20", Severity.high, "Deployment.default.web", 26),
        _check("CKV_K8S_21", Severity.low, "Service.default.web", 31),
        *(_check(f"CKV_K8S_{n}", Severity.medium, "Deployment.default.web", 1) for n in (10, 11, 12)),
        _check("CKV_K8S_40", Severity.low, "Service.default.web", 31),
    ]
    report = SecurityReport(run_id="r1", root="/repo", path=".", duration_s=1.0, findings=findings, scanners=[],
                            scope=ScanScope())
    shown = page(report, max_findings=200, full_report_uri="orchestra://runs/r1/findings.json", text=short_text)
    assert [f.id for f in shown.findings] == ["CKV_K8S_16", "CKV_DO_3", "CKV_K8S_21", "CKV_K8S_40"]
    folded = shown.findings[0]
    assert folded.folded == ["checkov:CKV_K8S_20", "checkov:CKV_K8S_10", "checkov:CKV_K8S_11", "checkov:CKV_K8S_12"]
    assert folded.title == "Deployment.default.web fails 5 checkov checks"
    assert "(2 high, 3 medium)" in folded.message and "Check CKV_K8S_20 (CKV_K8S_20, line 26)" in folded.message
    assert folded.location.start_line == 24 and not shown.truncated and shown.summary.total == 8


def test_text_has_every_finding_with_its_fix() -> None:
    text = full_text(_report(10))
    assert text.count("Fix: Pass the command as a list") == 10
    brief = full_text(_report(10), detail_from=Severity.high)
    assert brief.count("Fix:") == 4 and "[low] src/mod" in brief

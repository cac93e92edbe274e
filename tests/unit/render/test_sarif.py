"""SARIF 2.1.0 export: valid against the OASIS schema and shaped the way GitHub code scanning reads it."""

import json

from devops_orchestra.agents.runs import rank_key
from devops_orchestra.models import Finding, ScannerRun, ScanScope, SecurityReport, SeveritySummary
from devops_orchestra.render.sarif import FINGERPRINT_KEY, to_sarif
from tests.helpers import EXAMPLE, GOLDEN, assert_valid_sarif


def _example_report() -> SecurityReport:
    """The example's recorded findings (tests/golden), as a report, without running a scanner."""
    findings = sorted(
        (Finding.model_validate(f) for name in ("semgrep", "bandit", "secrets", "checkov")
         for f in json.loads((GOLDEN / f"{name}.expected.json").read_text())),
        key=rank_key,
    )
    findings[-1] = findings[-1].model_copy(update={"in_test_code": True})
    return SecurityReport(
        run_id="abc123", root=str(EXAMPLE), path=".", duration_s=1.0, summary=SeveritySummary.of(findings),
        findings=findings, findings_returned=len(findings), findings_total=len(findings), truncated=False,
        scanners=[ScannerRun(name="semgrep", status="ok", warnings=["PartialParsing in x.js: syntax error"]),
                  ScannerRun(name="checkov", status="timeout", error="checkov ran longer than 600 s")],
        scope=ScanScope(),
    )


def test_valid_sarif_2_1_0() -> None:
    sarif = to_sarif(_example_report())
    assert_valid_sarif(sarif)
    assert sarif["version"] == "2.1.0"


def test_every_finding_is_a_result_with_location_level_and_fingerprint() -> None:
    report = _example_report()
    run = to_sarif(report)["runs"][0]
    rules, results = run["tool"]["driver"]["rules"], run["results"]
    assert len(results) == len(report.findings)
    assert len(rules) == len({f.rule_id for f in report.findings})
    for finding, result in zip(report.findings, results, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.rule_id
        assert result["partialFingerprints"][FINGERPRINT_KEY] == finding.id
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": finding.location.path, "uriBaseId": "SRCROOT"}
        assert (EXAMPLE / location["artifactLocation"]["uri"]).is_file()
        assert location["region"]["startLine"] == finding.location.start_line
        assert finding.remediation.summary in result["message"]["text"]
    levels = {f.severity.value: r["level"] for f, r in zip(report.findings, results, strict=True)}
    assert levels["critical"] == levels["high"] == "error" and levels["medium"] == "warning"
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == EXAMPLE.as_uri() + "/"


def test_rules_carry_help_tags_and_github_security_severity() -> None:
    rules = {r["id"]: r for r in to_sarif(_example_report())["runs"][0]["tool"]["driver"]["rules"]}
    sqli = rules["semgrep:python-sql-injection-fstring"]
    assert "CWE-89" in sqli["properties"]["tags"] and "sql-injection" in sqli["properties"]["tags"]
    assert float(sqli["properties"]["security-severity"]) >= 7.0
    assert sqli["help"]["text"] and sqli["helpUri"].startswith("https://")
    assert float(rules["checkov:CKV_AWS_20"]["properties"]["security-severity"]) >= 9.0


def test_scanner_trouble_is_reported_as_notifications() -> None:
    invocation = to_sarif(_example_report())["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert "checkov: checkov ran longer than 600 s" in texts and any("x.js" in t for t in texts)


"""SARIF 2.1.0 for any agent's report, in the shape GitHub code scanning accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devops_orchestra import __version__
from devops_orchestra.models import AgentReport, Finding, ScannerRun, Severity

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "devopsOrchestraFindingId/v1"
ROOT_ID = "SRCROOT"

_LEVEL = {Severity.critical: "error", Severity.high: "error", Severity.medium: "warning",
          Severity.low: "note", Severity.info: "note"}
# GitHub reads `security-severity` (0.0-10.0, CVSS-like bands) to show critical/high/medium/low.
_SECURITY_SEVERITY = {Severity.critical: "9.5", Severity.high: "8.0", Severity.medium: "5.5",
                      Severity.low: "2.0", Severity.info: "0.0"}


def to_sarif(report: AgentReport) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log: a rule per rule id, a result per finding, scanner trouble as notifications."""
    rules: dict[str, dict[str, Any]] = {}
    for f in report.findings:  # worst first, so a rule is described by its most severe finding
        rules.setdefault(f.rule_id, _rule(f))
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    scanners: list[ScannerRun] = getattr(report, "scanners", [])  # reports of agents that run scanners
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "devops-orchestra",
                "version": __version__,
                "rules": list(rules.values()),
            }},
            "automationDetails": {"id": f"devops-orchestra/{report.agent}/{report.run_id}"},
            "originalUriBaseIds": {ROOT_ID: {"uri": _directory_uri(report.root)}},
            "results": [_result(f, index[f.rule_id]) for f in report.findings],
            "invocations": [{
                "executionSuccessful": all(r.status in ("ok", "skipped") for r in scanners),
                "toolExecutionNotifications": [
                    {"level": "error" if r.status != "ok" else "warning",
                     "message": {"text": f"{r.name}: {r.error or w}"}}
                    for r in scanners if r.status not in ("ok", "skipped") or r.warnings
                    for w in (r.warnings or [r.error or ""])
                ],
            }],
        }],
    }


def _rule(f: Finding) -> dict[str, Any]:
    tags = ["security", f.category, *([f.cwe] if f.cwe else []), *([f.owasp] if f.owasp else []), *(f.controls or [])]
    rule: dict[str, Any] = {
        "id": f.rule_id,
        "name": f.rule_id.split(":", 1)[-1],
        "shortDescription": {"text": f.title},
        "fullDescription": {"text": f.message},
        "help": {"text": f.remediation.summary, "markdown": _help_markdown(f)},
        "defaultConfiguration": {"level": _LEVEL[f.severity]},
        "properties": {
            "tags": tags,
            "precision": f.confidence,
            "security-severity": _SECURITY_SEVERITY[f.severity],
        },
    }
    if f.remediation.references:
        rule["helpUri"] = f.remediation.references[0]
    return rule


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    loc = f.location
    region: dict[str, Any] = {"startLine": loc.start_line, "endLine": loc.end_line}
    if loc.start_column:
        region["startColumn"] = loc.start_column
    if loc.end_column and loc.end_line == loc.start_line and loc.end_column > (loc.start_column or 0):
        region["endColumn"] = loc.end_column
    if loc.snippet:
        region["snippet"] = {"text": loc.snippet}
    return {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {"text": f"{f.message} Fix: {f.remediation.summary}"},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": loc.path, "uriBaseId": ROOT_ID},
            "region": region,
        }}],
        "partialFingerprints": {FINGERPRINT_KEY: f.id},
        "properties": {"scanner": f.scanner, "sources": f.sources, "confidence": f.confidence,
                       "severity": f.severity.value, "inTestCode": f.in_test_code},
    }


def _help_markdown(f: Finding) -> str:
    lines = [f"**{f.title}**", "", f.remediation.summary]
    if f.remediation.fix:
        lines += ["", "```", f.remediation.fix, "```"]
    lines += [f"- {ref}" for ref in f.remediation.references]
    return "\n".join(lines)


def _directory_uri(path: str) -> str:
    return Path(path).resolve().as_uri().rstrip("/") + "/"

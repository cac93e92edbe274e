"""The compliance agent and tool on real scans: controls judged with evidence, gates, resources, CLI."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from devops_orchestra.agents.compliance import compliance_check, compliance_with_evidence
from devops_orchestra.models import ComplianceReport, ControlResult
from devops_orchestra.server.app import create_server
from tests.helpers import EXAMPLE, assert_valid_sarif, export_zip, text_of, write

pytestmark = pytest.mark.scanners

# A small repository that does what the change-management and detection controls ask.
WELL_RUN = {
    "app.py": "import os\n\n\ndef greet(name: str) -> str:\n    return f'hello {name}'\n",
    "requirements.txt": "flask==3.1.0\n",
    ".github/workflows/ci.yml": "on: [pull_request]\njobs:\n  scan:\n    runs-on: ubuntu-24.04\n"
                                "    steps:\n      - run: pipx run devops-orchestra scan . --fail-on high\n",
    ".github/dependabot.yml": "version: 2\n",
    ".github/CODEOWNERS": "* @acme/platform\n",
}


@pytest.fixture(scope="module")
def vulnshop() -> ComplianceReport:
    return asyncio.run(compliance_with_evidence(EXAMPLE))  # as the tool and the CLI run it


def _control(report: ComplianceReport, framework: str, control: str) -> ControlResult:
    fw = next(f for f in report.frameworks if f.framework == framework)
    return next(c for c in fw.controls if c.id == control)


def test_failing_control_names_the_findings_and_the_fix(vulnshop: ComplianceReport) -> None:
    transit = _control(vulnshop, "soc2", "CC6.7")
    assert transit.status == "fail" and transit.remediation
    assert {(e.path, e.line) for e in transit.evidence} >= {("api/app.py", 85), ("worker/main.go", 47)}
    assert all(e.finding_id for e in transit.evidence)
    by_id = {f.id: f for f in vulnshop.findings}
    assert "soc2:CC6.7" in (by_id[transit.evidence[0].finding_id or ""].controls or [])


def test_other_agents_findings_count_as_evidence(vulnshop: ComplianceReport) -> None:
    """What the SQL and architecture agents find breaks controls too, as it does in a review."""
    assert _control(vulnshop, "soc2", "C1.1").status == "fail"
    # the .env database password that detect-secrets does not see
    env = [f for f in vulnshop.findings if f.rule_id == "arch:secret-in-config"
           and (f.location.path, f.location.start_line) == ("config/settings.env", 5)]
    assert env and "soc2:C1.1" in (env[0].controls or [])
    injection = [f for f in vulnshop.findings if f.rule_id == "sql:injection"]
    assert injection and all("pci-dss:6.2.4" in (f.controls or []) for f in injection)


def test_repository_checks_fail_with_what_is_missing(vulnshop: ComplianceReport) -> None:
    change = _control(vulnshop, "pci-dss", "6.5.1")
    assert change.status == "fail" and "no CODEOWNERS" in change.why
    audit = _control(vulnshop, "hipaa", "164.312(b)")
    assert audit.status == "fail" and any(e.path == "infra/main.tf" for e in audit.evidence)


def test_what_a_scan_cannot_judge_is_never_passed(vulnshop: ComplianceReport) -> None:
    plan = _control(vulnshop, "soc2", "CC7.4")
    assert plan.status == "not_assessable" and plan.manual_evidence
    for fw in vulnshop.frameworks:
        assert fw.passed + fw.failed + fw.not_assessable == len(fw.controls) >= 12
        assert fw.score == round(100 * fw.passed / (fw.passed + fw.failed), 1)


def test_default_gate_blocks_on_critical_findings(vulnshop: ComplianceReport) -> None:
    assert vulnshop.gate.status == "blocked"
    assert vulnshop.gate.reasons[0].startswith("no-critical-findings: ")


async def test_well_run_repository_passes_what_it_shows(tmp_path: Path) -> None:
    write(tmp_path, WELL_RUN)
    report = await compliance_check(tmp_path, frameworks=["soc2"])
    assert _control(report, "soc2", "CC7.1").status == "pass"
    assert _control(report, "soc2", "CC8.1").status == "pass"
    assert _control(report, "soc2", "CC6.8").status == "pass"
    # No infrastructure code: nothing shows encryption at rest or backups either way.
    backups = _control(report, "soc2", "A1.2")
    assert backups.status == "not_assessable" and "no infrastructure code" in backups.why
    assert report.gate.status == "passed"


async def test_organisation_gate_on_a_failed_framework(tmp_path: Path) -> None:
    write(tmp_path, {**WELL_RUN, ".github/CODEOWNERS": "# nobody\n", "devops_orchestra.yaml":
                     "compliance:\n  gates:\n    - {name: pci-changes, block_on_failed: ['pci-dss:6.5.1']}\n"})
    report = await compliance_check(tmp_path, frameworks=["pci-dss"])
    assert report.gate.gates == ["pci-changes"]
    assert report.gate.reasons == ["pci-changes: pci-dss control(s) failed: 6.5.1"]


async def test_tool_returns_controls_within_budget_and_its_resources() -> None:
    async with Client(create_server([EXAMPLE])) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        schema = tools["compliance_check"].output_schema
        assert schema is not None and {"frameworks", "gate"} <= set(schema["properties"])
        result = await client.call_tool("compliance_check", {"frameworks": ["soc2", "pci-dss"]})
        assert not result.is_error
        data = result.structured_content
        assert [f["framework"] for f in data["frameworks"]] == ["soc2", "pci-dss"]
        assert len(json.dumps(data)) + len(text_of(result.content[0])) < 50_000
        run_id = data["run_id"]
        md = await client.read_resource(f"orchestra://runs/{run_id}/compliance.md")
        sarif = json.loads(text_of((await client.read_resource(f"orchestra://runs/{run_id}/sarif")).contents[0]))
        bad = await client.call_tool("compliance_check", {"frameworks": ["sox"]})
    assert "| CC6.7 Data in transit is protected | fail |" in text_of(md.contents[0])
    assert_valid_sarif(sarif)
    tags = {t for rule in sarif["runs"][0]["tool"]["driver"]["rules"] for t in rule["properties"]["tags"]}
    assert {"soc2:CC6.7", "pci-dss:4.2.1"} <= tags
    assert bad.is_error and "unknown framework 'sox'" in text_of(bad.content[0])


def test_cli_exit_code_follows_the_gate(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "devops_orchestra", "comply"]
    write(tmp_path, WELL_RUN)
    passed = subprocess.run([*cli, str(tmp_path), "--framework", "soc2", "--fail-on-gate"], capture_output=True,
                            text=True)
    blocked = subprocess.run([*cli, str(EXAMPLE), "--framework", "soc2", "--fail-on-gate", "--format", "json"],
                             capture_output=True, text=True)
    assert passed.returncode == 0, passed.stderr
    assert "gate PASSED" in passed.stdout and "PASS CC7.1" in passed.stdout
    assert blocked.returncode == 1
    assert json.loads(blocked.stdout)["gate"]["status"] == "blocked"


async def test_vulnerable_dependency_fails_the_patching_control(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A pinned package with a known advisory (from an OSV export) breaks PCI DSS 6.3.3 at its line."""
    advisory = {"id": "GHSA-test-0000-0001", "modified": "2026-01-01T00:00:00Z", "summary": "bad flask",
                "affected": [{"package": {"ecosystem": "PyPI", "name": "flask"},
                              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]}
    monkeypatch.setenv("DEVOPS_ORCHESTRA_OSV_DB", str(export_zip(tmp_path / "all.zip", [advisory])))
    write(tmp_path / "repo", {**WELL_RUN, "requirements.txt": "# web\nflask==1.0\n"})
    report = await compliance_check(tmp_path / "repo", frameworks=["pci-dss"])
    patched = _control(report, "pci-dss", "6.3.3")
    assert patched.status == "fail"
    assert [(e.path, e.line, e.note) for e in patched.evidence] == [
        ("requirements.txt", 2, "deps:GHSA-test-0000-0001")]

"""review: the plan from repository and request, agents run once each with one shared scan, one verdict."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from devops_orchestra.agents import registry, shared_work
from devops_orchestra.agents.review import review
from devops_orchestra.agents.security import security_scan
from devops_orchestra.core.workspace import build_inventory
from devops_orchestra.models import PlannedAgent, SecurityReport
from devops_orchestra.scanners.base import ScanJob
from devops_orchestra.server.app import create_server
from tests.helpers import EXAMPLE, assert_valid_sarif, text_of, write

pytestmark = pytest.mark.scanners

SAFE = {"app.py": "def add(a: int, b: int) -> int:\n    return a + b\n"}


def _planned(report_plan: list[PlannedAgent]) -> dict[str, bool]:
    return {p.agent: p.run for p in report_plan if p.agent not in ("dora", "pipeline")}  # on request only


def test_plan_follows_the_repository(tmp_path: Path) -> None:
    example = registry.plan(build_inventory(EXAMPLE), "")
    assert _planned(example) == {"security": True, "compliance": True, "sql": True, "architecture": True}
    assert next(p for p in example if p.agent == "sql").why == "database code ('psycopg2' in api/db.py)"
    assert next(p for p in example if p.agent == "compliance").why.startswith("infrastructure code present")
    write(tmp_path, SAFE)
    plain = registry.plan(build_inventory(tmp_path), "")
    assert _planned(plain) == {"security": True, "compliance": False, "sql": False, "architecture": True}


def test_plan_follows_the_request() -> None:
    inventory = build_inventory(EXAMPLE)
    asked = registry.plan(inventory, "check SOC2 gaps please")
    assert _planned(asked) == {"security": False, "compliance": True, "sql": False, "architecture": False}
    assert next(p for p in asked if p.agent == "compliance").why == "the request asks for it ('SOC2')"
    assert _planned(registry.plan(inventory, "review this before I merge")) == {
        "security": True, "compliance": True, "sql": True, "architecture": True}
    assert _planned(registry.plan(inventory, "is this migration safe?")) == {
        "security": False, "compliance": False, "sql": True, "architecture": False}
    piped = registry.plan(inventory, "generate a deployment pipeline")
    assert [p.agent for p in piped if p.run] == ["pipeline"]


async def test_agents_share_one_security_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = security_scan

    async def counted(*args: Any, **kwargs: Any) -> SecurityReport:
        calls.append(args)
        return await real(*args, **kwargs)

    monkeypatch.setattr(shared_work, "security_scan", counted)
    report = await review(EXAMPLE)
    assert len(calls) == 1
    assert [(r.agent, r.status) for r in report.agents] == [
        ("security", "ok"), ("compliance", "ok"), ("sql", "ok"), ("architecture", "ok")]
    assert {f.rule_id.split(":")[0] for f in report.findings} >= {"sql", "arch", "semgrep", "checkov"}
    # Compliance judges the other agents' findings too: SQL injection and secrets in config files.
    assert all("pci-dss:6.2.4" in (f.controls or []) for f in report.findings if f.rule_id == "sql:injection")
    assert any("soc2:C1.1" in (f.controls or []) for f in report.findings if f.rule_id == "arch:secret-in-config")
    assert report.verdict == "blocked by gate" and report.verdict_reasons[0].startswith("no-critical-findings")
    ids = [f.id for f in report.findings]
    assert len(ids) == len(set(ids)) and any(f.controls for f in report.findings)


async def test_safe_repository_and_a_failing_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, SAFE)
    assert (await review(tmp_path)).verdict == "safe to merge"

    async def broken(_: object) -> None:
        raise RuntimeError("policy store on fire")

    spec = next(a for a in registry.AGENTS if a.name == "compliance")
    monkeypatch.setattr(registry, "AGENTS", tuple(
        a if a is not spec else registry.AgentSpec(**{**spec.__dict__, "work": broken})
        for a in registry.AGENTS))
    report = await review(tmp_path, request="compliance")
    assert report.agents[0].status == "failed" and "policy store on fire" in (report.agents[0].error or "")
    assert report.verdict == "needs changes"


async def test_tools_through_the_client() -> None:
    async with Client(create_server([EXAMPLE])) as client:
        plan = await client.call_tool("review", {"plan_only": True})
        full = await client.call_tool("review", {"max_findings": 10})
        agents = await client.call_tool("list_agents", {})
    assert plan.structured_content["verdict"] == "plan only" and plan.structured_content["findings_total"] == 0
    data = full.structured_content
    assert data["verdict"] == "blocked by gate" and data["findings_returned"] == 10 and data["truncated"]
    assert "BLOCKED BY GATE" in text_of(full.content[0])
    listed = {a["name"]: a for a in agents.structured_content["agents"]}
    assert all(s["installed"] for s in listed["security"]["scanners"])
    assert "security_scan" in listed["security"]["tools"]


def test_cli_review_and_agents_list() -> None:
    cli = [sys.executable, "-m", "devops_orchestra"]
    planned = subprocess.run([*cli, "review", str(EXAMPLE), "--plan-only"], capture_output=True, text=True)
    agents = subprocess.run([*cli, "agents", "list"], capture_output=True, text=True)
    assert planned.returncode == 0 and "- compliance: runs, infrastructure code present" in planned.stdout
    assert agents.returncode == 0 and "tools: compliance_check" in agents.stdout


def test_dora_runs_only_when_asked() -> None:
    inventory = build_inventory(EXAMPLE)
    assert not next(p for p in registry.plan(inventory, "") if p.agent == "dora").run
    asked = registry.plan(inventory, "what is our lead time?")
    assert [p.agent for p in asked if p.run] == ["dora"]


async def test_every_agents_run_is_a_findings_resource_and_sarif() -> None:
    """The review's full report (findings.json) and SARIF resources serve a review run like any other."""
    async with Client(create_server([EXAMPLE])) as client:
        result = await client.call_tool("review", {"max_findings": 5})
        run_id = result.structured_content["run_id"]
        full = json.loads(text_of((await client.read_resource(result.structured_content["full_report"])).contents[0]))
        sarif = json.loads(text_of((await client.read_resource(f"orchestra://runs/{run_id}/sarif")).contents[0]))
    assert full["verdict"] == "blocked by gate" and len(full["findings"]) == full["findings_total"] > 5
    assert_valid_sarif(sarif)
    assert len(sarif["runs"][0]["results"]) == full["findings_total"]


async def test_sql_agent_reads_the_security_scans_semgrep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beside the security scan, the SQL agent starts no semgrep of its own and finds exactly what it finds alone."""
    from devops_orchestra.agents.sql import sql_analysis
    from devops_orchestra.scanners import semgrep_sql

    alone = await sql_analysis(EXAMPLE)
    own_runs = []
    real = semgrep_sql.scan

    async def counted(job: ScanJob) -> semgrep_sql.SqlScan:
        own_runs.append(job)
        return await real(job)

    monkeypatch.setattr(semgrep_sql, "scan", counted)
    report = await review(EXAMPLE)
    assert own_runs == []
    assert {f.id for f in report.findings if f.rule_id.startswith("sql:")} == {f.id for f in alone.findings}
    assert not any("sql-literal" in f.rule_id or "sql-literal" in " ".join(f.sources) for f in report.findings)

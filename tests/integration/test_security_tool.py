"""security_scan through the in-memory MCP client: schema, budget, errors, progress, the full report."""

import json
from pathlib import Path

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from devops_orchestra.models import SecurityReport
from devops_orchestra.server.app import create_server
from devops_orchestra.server.state import AppState
from tests.helpers import EXAMPLE, alive, assert_valid_sarif, text_of, write

pytestmark = pytest.mark.scanners


@pytest.fixture
def server() -> MCPServer[AppState]:
    return create_server([EXAMPLE])


async def test_tool_is_listed_with_output_schema_and_read_only_hint(server: MCPServer[AppState]) -> None:
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    tool = tools["security_scan"]
    assert tool.output_schema is not None and tool.annotations is not None
    assert set(tool.input_schema["properties"]) == {
        "path", "scanners", "min_severity", "max_findings", "changed_since", "staged"}
    assert {"findings", "scanners", "summary"} <= set(tool.output_schema["properties"])
    assert tool.annotations.read_only_hint is True
    assert tool.annotations.open_world_hint is True  # deps asks the OSV API unless given an offline export
    # Context on every turn (6,235: zizmor's name in the input enum and the findings' schema, a finding's
    # resource and folded rules, the report's `more` lines).
    assert len(json.dumps(tool.model_dump(mode="json", exclude_none=True))) < 6_300


async def test_scan_returns_structured_findings_within_budget(server: MCPServer[AppState]) -> None:
    """A whole default response stays under Claude Code's 50,000 characters, worst findings first."""
    steps: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append(message or "")

    async with Client(server) as client:
        result = await client.call_tool("security_scan", {}, progress_callback=on_progress)
        assert not result.is_error, result.content
        report = SecurityReport.model_validate(result.structured_content)
        size = len(json.dumps(result.structured_content)) + sum(len(text_of(c)) for c in result.content)
        assert size < 50_000
        assert report.summary.total == report.findings_total > report.findings_returned > 0
        assert report.truncated and report.full_report
        ranks = [f.severity.rank for f in report.findings]
        assert ranks == sorted(ranks, reverse=True)
        assert {r.name: r.status for r in report.scanners} == {  # no OSV here, no workflows in the example
            **dict.fromkeys(["semgrep", "bandit", "secrets", "checkov"], "ok"), "zizmor": "skipped",
            "deps": "unavailable"}
        assert steps[0].startswith("inventory:") and len(steps) == 6
        assert "Security scan of .:" in text_of(result.content[0])

        full = await client.read_resource(report.full_report)
        everything = SecurityReport.model_validate_json(text_of(full.contents[0]))
        assert len(everything.findings) == report.findings_total
        order = [f.id for f in everything.findings]
        shown = [f.id for f in report.findings]
        assert [i for i in order if i in shown] == shown  # worst first, a folded resource at its worst's place
        named = report.findings_returned + len(report.more or ())
        folded = sum(len(f.folded or ()) for f in report.findings)
        assert named + folded == report.findings_total  # every finding is in the answer, in full, folded or named


async def test_subset_filter_and_limit(server: MCPServer[AppState]) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "security_scan",
            {"path": "api", "scanners": ["bandit"], "min_severity": "high", "max_findings": 2},
        )
    report = SecurityReport.model_validate(result.structured_content)
    assert [r.name for r in report.scanners] == ["bandit"]
    assert report.findings_returned == 2 < report.findings_total
    assert all(f.severity.value in ("critical", "high") for f in report.findings)
    assert all(f.rule_id.startswith("bandit:") for f in report.findings)


@pytest.mark.parametrize(("path", "message"), [
    ("../..", "outside the directories this server may read"),
    ("/etc", "outside the directories this server may read"),
    ("no/such/dir", "does not exist"),
])
async def test_bad_paths_are_clear_tool_errors(server: MCPServer[AppState], path: str, message: str) -> None:
    async with Client(server) as client:
        result = await client.call_tool("security_scan", {"path": path})
    assert result.is_error
    assert message in text_of(result.content[0])


async def test_bad_arguments_are_rejected_before_scanning(server: MCPServer[AppState]) -> None:
    async with Client(server) as client:
        result = await client.call_tool("security_scan", {"scanners": ["nmap"]})
        assert result.is_error
        result = await client.call_tool("security_scan", {"max_findings": 0})
        assert result.is_error


async def test_empty_directory_scans_clean(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    async with Client(create_server([tmp_path])) as client:
        result = await client.call_tool("security_scan", {"path": "empty"})
    report = SecurityReport.model_validate(result.structured_content)
    assert report.summary.total == 0
    assert {r.status for r in report.scanners} == {"skipped"}


async def test_unknown_run_resource_is_an_error(server: MCPServer[AppState]) -> None:
    async with Client(server) as client:
        with pytest.raises(Exception, match="No finished run nope"):
            await client.read_resource("orchestra://runs/nope/findings.json")


async def test_binary_and_non_utf8_files_do_not_break_a_scan(tmp_path: Path) -> None:
    write(tmp_path, {"ok.py": "import subprocess\nsubprocess.call(cmd, shell=True)\n",
                     "latin.py": "# caf\xe9\n".encode("latin-1"), "img.bin": b"\0\1\2"})
    async with Client(create_server([tmp_path])) as client:
        result = await client.call_tool("security_scan", {"scanners": ["bandit", "secrets"]})
    report = SecurityReport.model_validate(result.structured_content)
    assert {s.path: s.reason for s in report.scope.skipped_examples} == {"latin.py": "not UTF-8", "img.bin": "binary"}
    assert {f.location.path for f in report.findings} == {"ok.py"}


async def test_cancelled_call_leaves_no_scanner_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's notifications/cancelled reaches the scan; the scanner's process is killed."""
    import anyio

    from devops_orchestra.core import toolchain

    pidfile = tmp_path / "scanner.pid"
    fake = tmp_path / "fake-semgrep"
    fake.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 60\n")
    fake.chmod(0o755)
    real = toolchain.executable
    monkeypatch.setattr(toolchain, "executable", lambda name: fake if name == "semgrep" else real(name))
    write(tmp_path, {"src/app.py": "x = 1\n"})
    async with Client(create_server([tmp_path])) as client:
        with anyio.move_on_after(20) as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.call_tool, "security_scan", {"path": "src", "scanners": ["semgrep"]})
                while not pidfile.exists() or not pidfile.read_text().strip():  # noqa: ASYNC110 - a file
                    await anyio.sleep(0.05)
                pid = int(pidfile.read_text())
                assert alive(pid)
                tg.cancel_scope.cancel()
        assert not scope.cancelled_caught, "the scanner never started"
        for _ in range(100):
            if not alive(pid):
                break
            await anyio.sleep(0.05)
        assert not alive(pid)


async def test_sarif_resource_of_a_run() -> None:
    async with Client(create_server([EXAMPLE])) as client:
        result = await client.call_tool("security_scan", {"path": "api", "scanners": ["bandit"]})
        run_id = result.structured_content["run_id"]
        sarif = json.loads(text_of((await client.read_resource(f"orchestra://runs/{run_id}/sarif")).contents[0]))
    assert_valid_sarif(sarif)
    assert len(sarif["runs"][0]["results"]) == result.structured_content["findings_total"]

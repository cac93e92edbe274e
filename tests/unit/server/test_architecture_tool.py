"""architecture_analysis through the in-memory MCP client, the Markdown resource, and the `arch` CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from devops_orchestra.models import ArchitectureReport
from devops_orchestra.server.app import create_server
from devops_orchestra.server.state import AppState
from tests.helpers import EXAMPLE, text_of, write


@pytest.fixture
def server() -> MCPServer[AppState]:
    return create_server([EXAMPLE])


async def test_tool_is_listed_lean_with_output_schema(server: MCPServer[AppState]) -> None:
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    tool = tools["architecture_analysis"]
    assert tool.output_schema is not None and tool.annotations is not None
    assert set(tool.input_schema["properties"]) == {"path", "max_findings"}
    assert {"components", "data_stores", "infrastructure", "imports", "diagrams", "findings"} <= set(
        tool.output_schema["properties"])
    assert tool.annotations.read_only_hint is True
    assert len(json.dumps(tool.model_dump(mode="json", exclude_none=True))) < 15_000  # context on every turn


async def test_analysis_is_structured_recorded_and_has_a_markdown_resource(server: MCPServer[AppState]) -> None:
    steps: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append(message or "")

    async with Client(server) as client:
        result = await client.call_tool("architecture_analysis", {}, progress_callback=on_progress)
        assert not result.is_error, result.content
        report = ArchitectureReport.model_validate(result.structured_content)
        assert {c.name for c in report.components} == {"api", "vulnshop-web", "worker"}
        assert report.full_report == f"orchestra://runs/{report.run_id}/architecture.md"
        assert text_of(result.content[0]).startswith("Architecture of .: 3 components")
        assert len(steps) == 3 and steps[0].startswith("inventory:")

        md = text_of((await client.read_resource(report.full_report)).contents[0])
        assert md.count("```mermaid\nflowchart LR") == 2
        assert all(f.title in md for f in report.findings)

        history = await client.call_tool("scan_history", {})
        runs = history.structured_content["runs"]
        assert runs[0]["run_id"] == report.run_id and runs[0]["agent"] == "architecture"
        assert runs[0]["summary"]["total"] == report.findings_total

        with pytest.raises(Exception, match="No finished architecture analysis nope"):
            await client.read_resource("orchestra://runs/nope/architecture.md")


async def test_findings_are_paged_and_the_response_fits_the_budget(tmp_path: Path) -> None:
    """Hundreds of components and findings: lists are cut (and say so), the response stays under 50,000."""
    files: dict[str, str] = {}
    for i in range(120):
        files[f"svc{i}/package.json"] = json.dumps({"name": f"service-{i}", "dependencies": {"express": "4.19.2"}})
        files[f"svc{i}/index.js"] = "".join(f'app.get("/r{j}", h);\n' for j in range(60))
        files[f"svc{i}/config.env"] = "API_TOKEN=prod-token-value-1234\n"
    write(tmp_path, files)
    async with Client(create_server([tmp_path])) as client:
        result = await client.call_tool("architecture_analysis", {"max_findings": 1000})
        small = await client.call_tool("architecture_analysis", {"max_findings": 3})
    size = len(json.dumps(result.structured_content)) + sum(len(text_of(c)) for c in result.content)
    assert size < 50_000
    report = ArchitectureReport.model_validate(result.structured_content)
    assert report.findings_total == 120 * 4 + 1 and report.truncated and 0 < report.findings_returned < 481  # + no CI
    assert report.lists_cut["components"] == 120 and len(report.components) == 50
    assert ArchitectureReport.model_validate(small.structured_content).findings_returned == 3


@pytest.mark.parametrize(("path", "message"), [
    ("../..", "outside the directories this server may read"),
    ("no/such/dir", "does not exist"),
    ("api/app.py", "is a file"),
])
async def test_bad_paths_are_clear_tool_errors(server: MCPServer[AppState], path: str, message: str) -> None:
    async with Client(server) as client:
        result = await client.call_tool("architecture_analysis", {"path": path})
    assert result.is_error and message in text_of(result.content[0])


def test_cli_prints_a_summary_writes_diagrams_and_json(tmp_path: Path) -> None:
    diagram = tmp_path / "arch.md"
    cli = [sys.executable, "-m", "devops_orchestra", "arch"]
    done = subprocess.run([*cli, str(EXAMPLE), "--diagram", str(diagram)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Components:" in done.stdout and "worker" in done.stdout and "arch:no-ci" in done.stdout
    assert diagram.read_text().count("```mermaid") == 2
    mmd = tmp_path / "system.mmd"
    as_json = subprocess.run([*cli, str(EXAMPLE / "api"), "--format", "json", "--diagram", str(mmd)],
                             capture_output=True, text=True, timeout=120)
    assert json.loads(as_json.stdout)["components"][0]["frameworks"] == ["Flask"]
    assert mmd.read_text().startswith("flowchart LR\n")
    bad = subprocess.run([*cli, str(tmp_path / "missing")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "does not exist" in bad.stderr


def test_tree_with_no_code(tmp_path: Path) -> None:
    write(tmp_path, {"README.md": "# notes\n"})
    done = subprocess.run([sys.executable, "-m", "devops_orchestra", "arch", str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "0 components" in done.stdout

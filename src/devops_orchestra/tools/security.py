"""The security_scan tool and the resource holding each run's every finding."""

import json
from typing import Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from devops_orchestra.agents.security import security_scan as run_scan
from devops_orchestra.errors import OrchestraError
from devops_orchestra.models import SecurityReport, Severity
from devops_orchestra.report import page, short_text
from devops_orchestra.sarif import to_sarif
from devops_orchestra.state import AppState

FINDINGS_URI = "orchestra://runs/{run_id}/findings.json"
SARIF_URI = "orchestra://runs/{run_id}/sarif"

ScannerArg = Literal["semgrep", "bandit", "secrets", "checkov"]
SeverityArg = Literal["critical", "high", "medium", "low", "info"]


def register(server: MCPServer[AppState]) -> None:
    @server.tool(
        name="security_scan",
        title="Security scan",
        description=(
            "Scan a directory or file for vulnerabilities, secrets and IaC misconfigurations with semgrep, "
            "bandit, detect-secrets and checkov. Returns findings with file, line, severity and fix, worst first."
        ),
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    async def security_scan(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="Directory or file, relative to the workspace root.")] = ".",
        scanners: Annotated[
            list[ScannerArg] | None, Field(description="Subset to run; default: all that apply.")
        ] = None,
        min_severity: SeverityArg = "info",
        max_findings: Annotated[int, Field(ge=1, le=1000)] = 200,
    ) -> Annotated[CallToolResult, SecurityReport]:
        state = ctx.request_context.lifespan_context
        try:
            target = state.roots.resolve(path)
            report = await run_scan(
                target,
                scanners=scanners,
                min_severity=Severity(min_severity),
                progress=lambda done, total, msg: ctx.report_progress(done, total, msg),
                display_path=path,
                runners=state.runners,
            )
        except OrchestraError as exc:
            raise ToolError(str(exc)) from exc
        state.remember(report)
        shown = page(report, max_findings, FINDINGS_URI.format(run_id=report.run_id))
        return CallToolResult(
            content=[TextContent(type="text", text=short_text(shown))],
            structured_content=shown.model_dump(mode="json", exclude_none=True),
        )

    @server.resource(
        FINDINGS_URI,
        name="security-findings",
        title="Every finding of a security scan",
        mime_type="application/json",
    )
    def findings_json(run_id: str, ctx: Context[AppState]) -> str:
        return json.dumps(_run(ctx, run_id).model_dump(mode="json", exclude_none=True), indent=1)

    @server.resource(
        SARIF_URI,
        name="security-sarif",
        title="A security scan as SARIF 2.1.0 (GitHub code scanning)",
        mime_type="application/sarif+json",
    )
    def sarif(run_id: str, ctx: Context[AppState]) -> str:
        return json.dumps(to_sarif(_run(ctx, run_id)), indent=1)


def _run(ctx: Context[AppState], run_id: str) -> SecurityReport:
    report = ctx.request_context.lifespan_context.runs.get(run_id)
    if report is None:
        raise ResourceError(f"No run {run_id} in this server's memory (it keeps the latest runs only).")
    return report

"""The compliance_check tool and its Markdown report resource."""

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from devops_orchestra.models import ComplianceReport
from devops_orchestra.models.requests import ComplianceRequest
from devops_orchestra.server.results import paged, tool_errors
from devops_orchestra.server.state import AppState
from devops_orchestra.server.tools.security import FINDINGS_URI, stored_report

MARKDOWN_URI = "orchestra://runs/{run_id}/compliance.md"


def register(server: MCPServer[AppState]) -> None:
    """Add compliance_check, and the resource with each check as Markdown, to server."""
    @server.tool(
        name="compliance_check",
        title="Compliance check",
        description=(
            "Judge a repository against SOC 2, HIPAA and PCI DSS (and the organisation's own policies): every "
            "control pass, fail or not_assessable with file-and-line evidence, remediation, a score per "
            "framework and the gate result. Runs the security scanners once; the SQL and architecture agents' "
            "findings count too."
        ),
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True),
    )
    async def compliance_check(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="Directory or file, relative to the workspace root.")] = ".",
        frameworks: Annotated[
            list[str] | None,
            Field(description="Framework ids, e.g. soc2, hipaa, pci-dss; default: every one defined."),
        ] = None,
        max_findings: Annotated[int, Field(ge=0, le=1000)] = 50,
    ) -> Annotated[CallToolResult, ComplianceReport]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            target = state.roots.resolve(path)
            from devops_orchestra.agents.compliance import recorded_compliance_check  # not at start
            from devops_orchestra.render.compliance import short_text

            report = await recorded_compliance_check(
                state.store, ComplianceRequest(target=target, display_path=path, frameworks=frameworks),
                progress=ctx.report_progress, runners=state.runners, cache=state.cache,
            )
        full = MARKDOWN_URI.format(run_id=report.run_id)
        return paged(report, max_findings, FINDINGS_URI.format(run_id=report.run_id),
                     lambda r: f"{short_text(r)}\nFull report: {full}")

    @server.resource(
        MARKDOWN_URI,
        name="compliance-report",
        title="A compliance check as a Markdown report",
        mime_type="text/markdown",
    )
    async def report_md(run_id: str, ctx: Context[AppState]) -> str:
        from devops_orchestra.render.compliance import markdown

        return markdown(await stored_report(ctx, run_id, ComplianceReport))

"""The architecture_analysis tool and the Markdown resource with its diagrams."""

import asyncio
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from devops_orchestra.core.errors import PathError
from devops_orchestra.models import ArchitectureReport
from devops_orchestra.models.requests import ArchitectureRequest
from devops_orchestra.server.results import paged, tool_errors
from devops_orchestra.server.state import AppState

ARCHITECTURE_URI = "orchestra://runs/{run_id}/architecture.md"


def register(server: MCPServer[AppState]) -> None:
    """Add architecture_analysis, and the resource with each analysis as Markdown, to server."""
    @server.tool(
        name="architecture_analysis",
        title="Architecture analysis",
        description=(
            "Map a repository without running it: languages, frameworks, entry points, components, data stores, "
            "infrastructure, import graph, complexity hotspots, with findings (import cycles, layer violations, "
            "missing tests/health checks/CI, shared databases, secrets in config) and Mermaid diagrams."
        ),
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    async def architecture_analysis(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="Directory, relative to the workspace root.")] = ".",
        max_findings: Annotated[int, Field(ge=1, le=1000)] = 100,
    ) -> Annotated[CallToolResult, ArchitectureReport]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            target = state.roots.resolve(path)
            if not target.is_dir():
                raise PathError(f"{path!r} is a file: architecture_analysis reads a directory, such as the "
                                "repository root or one service's folder.")
            from devops_orchestra.agents.architecture import recorded_architecture_analysis  # not at start
            from devops_orchestra.render.architecture import short_text

            report = await recorded_architecture_analysis(
                state.store, ArchitectureRequest(target=target, display_path=path), progress=ctx.report_progress)
        return paged(report, max_findings, ARCHITECTURE_URI.format(run_id=report.run_id), short_text)

    @server.resource(
        ARCHITECTURE_URI,
        name="architecture-report",
        title="An architecture analysis as Markdown, with its Mermaid diagrams",
        mime_type="text/markdown",
    )
    async def architecture_md(run_id: str, ctx: Context[AppState]) -> str:
        store = ctx.request_context.lifespan_context.store
        report = await asyncio.to_thread(store.report, run_id, ArchitectureReport)
        if report is None:
            raise ResourceError(f"No finished architecture analysis {run_id}: scan_history lists the runs there are.")
        from devops_orchestra.render.architecture import markdown

        return markdown(report)

"""The dora_metrics tool: delivery performance from the repository's git history."""

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from devops_orchestra.models import DoraReport
from devops_orchestra.models.dora import DeploymentSource
from devops_orchestra.models.requests import DoraRequest
from devops_orchestra.server.results import structured, tool_errors
from devops_orchestra.server.state import AppState


def register(server: MCPServer[AppState]) -> None:
    """Add dora_metrics to server."""
    @server.tool(
        name="dora_metrics",
        title="DORA metrics",
        description="Deployment frequency, lead time for changes, change failure rate and time to restore from "
                    "git history (release tags or merges to the default branch), each with how it was derived.",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    async def dora_metrics(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="A directory inside the git repository.")] = ".",
        days: Annotated[int, Field(ge=1, le=3650)] = 90,
        deployments: Annotated[
            DeploymentSource,
            Field(description="What counts as a deployment; auto: those recorded by deploy if any, else release "
                              "tags if any, else merges."),
        ] = "auto",
        tag_pattern: Annotated[str, Field(description="Release tags to count, e.g. 'v*'.")] = "*",
        include_prereleases: Annotated[bool, Field(
            description="Count pre-release tags (1.2.3-rc1, v4.7.0-beta1, 1.2.3b2, 1.2.3.dev4) as deployments.",
        )] = False,
    ) -> Annotated[CallToolResult, DoraReport]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            target = state.roots.resolve(path)
            from devops_orchestra.agents.dora import recorded_dora_metrics  # GitPython: not at start
            from devops_orchestra.render.dora import short_text

            report = await recorded_dora_metrics(state.store, DoraRequest(
                target=target, display_path=path, days=days, deployments=deployments, tag_pattern=tag_pattern,
                include_prereleases=include_prereleases))
        return structured(report, short_text(report))

"""The review tool (the right agents for one request) and list_agents."""

import asyncio
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from devops_orchestra.models import AgentList, ReviewReport
from devops_orchestra.models.requests import ReviewRequest
from devops_orchestra.server.results import paged, structured, tool_errors
from devops_orchestra.server.state import AppState
from devops_orchestra.server.tools.security import FINDINGS_URI

# review runs the security agent, whose deps scanner may ask OSV about package versions.
REVIEW = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)
READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


def register(server: MCPServer[AppState]) -> None:
    """Add review and list_agents to server."""
    @server.tool(
        name="review",
        title="Review",
        description="Review a repository before merging: decides which agents apply (security, compliance, "
                    "...) from the repository and the request, runs them at once, and gives one verdict (safe "
                    "to merge / needs changes / blocked by gate) with the top findings. plan_only: just the plan.",
        annotations=REVIEW,
    )
    async def review(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="Directory, relative to the workspace root.")] = ".",
        request: Annotated[str, Field(description="What the person asked, e.g. 'check SOC2 gaps'.")] = "",
        changed_since: Annotated[str | None, Field(description="Git ref: review only what changed since.")] = None,
        plan_only: bool = False,
        max_findings: Annotated[int, Field(ge=0, le=1000)] = 50,
    ) -> Annotated[CallToolResult, ReviewReport]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            target = state.roots.resolve(path)
            from devops_orchestra.agents.review import recorded_review  # every agent: not at start
            from devops_orchestra.render.review import short_text

            report = await recorded_review(
                state.store, ReviewRequest(target=target, display_path=path, request=request,
                                           changed_since=changed_since, plan_only=plan_only),
                progress=ctx.report_progress, runners=state.runners, cache=state.cache,
            )
        return paged(report, max_findings, FINDINGS_URI.format(run_id=report.run_id), short_text)

    @server.tool(name="list_agents", title="List agents", annotations=READ_ONLY,
                 description="Each DevOps agent: what it does, its tools, the scanners it needs and whether "
                             "they are installed.")
    async def list_agents() -> Annotated[CallToolResult, AgentList]:
        from devops_orchestra.agents.registry import describe_agents

        agents = await asyncio.to_thread(describe_agents)
        lines = [f"{a.name}: {', '.join(a.tools)}; scanners "
                 + ", ".join(f"{s.name} {s.version or 'NOT INSTALLED'}" for s in a.scanners) for a in agents.agents]
        return structured(agents, "\n".join(lines))

"""scan_history and compare_runs: what earlier runs found, and what changed since."""

import asyncio
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from devops_orchestra.core.store import Comparison, RunRecord, compare
from devops_orchestra.server.results import structured, tool_errors
from devops_orchestra.server.state import AppState


# What scan_history returns (a docstring would land in the tool schema).
class History(BaseModel):
    runs: list[RunRecord] = Field(description="Newest first.")


def register(server: MCPServer[AppState]) -> None:
    """Add scan_history and compare_runs to server."""
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

    @server.tool(name="scan_history", title="Scan history", annotations=read_only,
                 description="Recent runs for a directory, newest first, with finding counts per severity.")
    async def scan_history(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="Directory, relative to the workspace root.")] = ".",
        limit: Annotated[int, Field(ge=1, le=200)] = 20,
    ) -> Annotated[CallToolResult, History]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            root = state.roots.resolve(path)
        runs = await asyncio.to_thread(state.store.history, root, limit)
        lines = [f"{r.run_id} {r.state} {r.summary.total if r.summary else '-'} findings" for r in runs]
        return structured(History(runs=runs), "\n".join(lines) or f"No runs yet for {path!r}.")

    @server.tool(name="compare_runs", title="Compare runs", annotations=read_only,
                 description="New, fixed and unchanged findings between two runs of any agent (default: the latest "
                             "security scan of the directory and the one before it).")
    async def compare_runs(
        ctx: Context[AppState],
        head_run_id: Annotated[str | None, Field(description="Default: the latest run of `path`.")] = None,
        base_run_id: Annotated[str | None, Field(description="Default: the run before head.")] = None,
        path: Annotated[str, Field(description="Directory whose runs to compare by default.")] = ".",
    ) -> Annotated[CallToolResult, Comparison]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            root = state.roots.resolve(path)
        head_id = head_run_id or await asyncio.to_thread(state.store.latest_finished, root)
        base_id = base_run_id or (head_id and await asyncio.to_thread(state.store.latest_finished, root, head_id))
        if not head_id or not base_id:
            raise ToolError(f"Two finished runs of {path!r} are needed to compare; scan it (again) first.")
        base, head = [await asyncio.to_thread(state.store.findings, i) for i in (base_id, head_id)]
        if base is None or head is None:
            raise ToolError(f"No finished run {base_id if base is None else head_id}: scan_history lists them.")
        diff = compare(base_id, base, head_id, head)
        return structured(diff, f"{diff.new_total} new, {diff.fixed_total} fixed, {diff.unchanged} unchanged "
                                f"({diff.base_run_id} -> {diff.head_run_id}).")

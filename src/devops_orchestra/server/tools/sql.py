"""The sql_analysis tool, the resource with each run's every finding, and the rule catalogue."""

import asyncio
import json
from typing import Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.models import SqlReport
from devops_orchestra.models.requests import SqlRequest
from devops_orchestra.render.sql import rules_markdown, short_text
from devops_orchestra.server.results import paged, tool_errors
from devops_orchestra.server.state import AppState

FINDINGS_URI = "orchestra://runs/{run_id}/sql.json"
RULES_URI = "orchestra://sql/rules"
MAX_INLINE_CHARS = 1_000_000

DialectArg = Literal["postgres", "mysql", "mariadb", "sqlite", "snowflake", "bigquery", "tsql", "oracle", "redshift",
                     "duckdb", "clickhouse", "databricks", "spark", "trino", "presto", "hive"]


def register(server: MCPServer[AppState]) -> None:
    """Add sql_analysis, the resource with every finding of an analysis, and the SQL rules resource to server."""
    @server.tool(
        name="sql_analysis",
        title="SQL analysis",
        description=(
            "Is this migration safe for production, is this SQL sound? Checks .sql, Alembic and Django migrations, "
            "queries and SQL injection in code (or inline `sql`), with the statement's line and a safe rewrite. "
            f"Rules: {RULES_URI}."
        ),
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    async def sql_analysis(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="File or directory, relative to the workspace root.")] = ".",
        sql: Annotated[str | None, Field(description="SQL text to check instead of files.")] = None,
        dialect: Annotated[DialectArg | None, Field(description="Default: detected per file, else postgres.")] = None,
        max_findings: Annotated[int, Field(ge=1, le=1000)] = 200,
        changed_since: Annotated[str | None, Field(description="Git ref: only files changed since it.")] = None,
        staged: Annotated[bool, Field(description="Only staged files.")] = False,
    ) -> Annotated[CallToolResult, SqlReport]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            if sql is not None and not sql.strip():
                raise OrchestraError("`sql` is empty: pass the SQL text to check, or leave it out to check `path`.")
            if sql is not None and len(sql) > MAX_INLINE_CHARS:
                raise OrchestraError("`sql` is over 1,000,000 characters: save it to a file and pass its `path`.")
            target = state.roots.resolve(path)
            from devops_orchestra.agents.sql import recorded_sql_analysis  # sqlglot: 50-100 ms, not at start

            report = await recorded_sql_analysis(state.store, SqlRequest(
                target=target, sql=sql, dialect=dialect, changed_since=changed_since, staged=staged,
                display_path=path if sql is None else "<inline>"), cache=state.cache)
        return paged(report, max_findings, FINDINGS_URI.format(run_id=report.run_id), short_text)

    @server.resource(FINDINGS_URI, name="sql-findings", title="Every finding of a SQL analysis",
                     mime_type="application/json")
    async def findings_json(run_id: str, ctx: Context[AppState]) -> str:
        store = ctx.request_context.lifespan_context.store
        report = await asyncio.to_thread(store.report, run_id, SqlReport)
        if report is None:
            raise ResourceError(f"No finished SQL analysis {run_id}: scan_history lists the runs there are.")
        return json.dumps(report.model_dump(mode="json", exclude_none=True), indent=1)

    @server.resource(RULES_URI, name="sql-rules", title="SQL rules: why each matters and the safe pattern",
                     mime_type="text/markdown")
    async def rules() -> str:
        return rules_markdown()

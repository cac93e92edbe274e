"""The security_scan tool and the resource holding each run's every finding."""

import asyncio
import json
from typing import Annotated, Literal, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from devops_orchestra.models import (
    AgentReport,
    ArchitectureReport,
    ComplianceReport,
    DoraReport,
    ReviewReport,
    SecurityReport,
    Severity,
    SqlReport,
)
from devops_orchestra.models.pipeline import GeneratedArtifacts
from devops_orchestra.models.requests import SecurityScanRequest
from devops_orchestra.models.security import SecurityScannerName
from devops_orchestra.models.verify import FixVerification
from devops_orchestra.server.results import paged, structured, tool_errors
from devops_orchestra.server.state import AppState

R = TypeVar("R", bound=AgentReport)
FINDINGS_URI = "orchestra://runs/{run_id}/findings.json"
SARIF_URI = "orchestra://runs/{run_id}/sarif"
MARKDOWN_URI = "orchestra://runs/{run_id}/report.md"

SeverityArg = Literal["critical", "high", "medium", "low", "info"]


def register(server: MCPServer[AppState]) -> None:
    """Add security_scan, verify_fix and the resources with a run's findings (JSON, SARIF, Markdown) to server."""
    @server.tool(
        name="security_scan",
        title="Security scan",
        description=(
            "Scan a directory or file for vulnerabilities, secrets, IaC and GitHub Actions misconfigurations with "
            "semgrep, bandit, detect-secrets, checkov, zizmor and deps (lock files against OSV). Returns findings "
            "with file, line, severity and fix, worst first."
        ),
        # open world: deps asks the OSV API about pinned packages unless the server has an offline export
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True),
    )
    async def security_scan(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="Directory or file, relative to the workspace root.")] = ".",
        scanners: Annotated[
            list[SecurityScannerName] | None, Field(description="Subset to run; default: all that apply.")
        ] = None,
        min_severity: SeverityArg = "info",
        max_findings: Annotated[int, Field(ge=1, le=1000)] = 200,
        changed_since: Annotated[
            str | None, Field(description="Git ref: scan only files changed since it, e.g. 'main'.")
        ] = None,
        staged: Annotated[bool, Field(description="Scan only files staged for commit.")] = False,
    ) -> Annotated[CallToolResult, SecurityReport]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            target = state.roots.resolve(path)
            from devops_orchestra.agents.security import recorded_security_scan  # the scanners: not at start
            from devops_orchestra.render.security import short_text

            report = await recorded_security_scan(
                state.store,
                SecurityScanRequest(target=target, display_path=path, scanners=scanners,
                                    min_severity=Severity(min_severity), changed_since=changed_since, staged=staged),
                progress=ctx.report_progress, runners=state.runners, cache=state.cache,
            )
        return paged(report, max_findings, FINDINGS_URI.format(run_id=report.run_id), short_text)

    @server.tool(
        name="verify_fix",
        title="Verify fixes",
        description="Re-run only the scanners and files that earlier findings came from; per finding id: "
                    "resolved, still_present (with its location now) or unknown.",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    async def verify_fix(
        ctx: Context[AppState],
        finding_ids: Annotated[list[str], Field(min_length=1, max_length=200, description="Ids from security_scan.")],
        path: Annotated[str, Field(description="The directory that was scanned.")] = ".",
    ) -> Annotated[CallToolResult, FixVerification]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            root = state.roots.resolve(path)
            from devops_orchestra.agents import verify

            result = await verify.verify_fix(state.store, root, finding_ids, runners=state.runners)  # never cached
        counts = {v: sum(c.verdict == v for c in result.checks) for v in ("resolved", "still_present", "unknown")}
        return structured(result, ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in counts.items()) + ".")

    @server.resource(
        FINDINGS_URI,
        name="security-findings",
        title="A run of any agent with every finding, as JSON",
        mime_type="application/json",
    )
    async def findings_json(run_id: str, ctx: Context[AppState]) -> str:
        report = await stored_any(ctx, run_id)
        return json.dumps(report.model_dump(mode="json", exclude_none=True), indent=1)

    @server.resource(
        SARIF_URI,
        name="security-sarif",
        title="A run of any agent as SARIF 2.1.0 (GitHub code scanning)",
        mime_type="application/sarif+json",
    )
    async def sarif(run_id: str, ctx: Context[AppState]) -> str:
        from devops_orchestra.render.sarif import to_sarif

        return json.dumps(to_sarif(await stored_any(ctx, run_id)), indent=1)

    @server.resource(
        MARKDOWN_URI,
        name="security-report",
        title="A security scan as a Markdown report",
        mime_type="text/markdown",
    )
    async def report_md(run_id: str, ctx: Context[AppState]) -> str:
        from devops_orchestra.render.security import markdown

        return markdown(await stored_report(ctx, run_id, SecurityReport))


async def stored_report(ctx: Context[AppState], run_id: str, kind: type[R]) -> R:
    """The whole report of a finished run of kind's agent; ResourceError when there is none."""
    report = await asyncio.to_thread(ctx.request_context.lifespan_context.store.report, run_id, kind)
    if report is None:
        raise ResourceError(f"No finished {kind.agent} run {run_id}: scan_history lists the runs there are.")
    return report


# Every agent's report, by the name its runs are stored under.
REPORT_KINDS: dict[str, type[AgentReport]] = {kind.agent: kind for kind in (
    SecurityReport, ComplianceReport, SqlReport, ArchitectureReport, GeneratedArtifacts, ReviewReport, DoraReport)}


async def stored_any(ctx: Context[AppState], run_id: str) -> AgentReport:
    """The whole report of a finished run of any agent."""
    store = ctx.request_context.lifespan_context.store
    agent = await asyncio.to_thread(store.agent_of, run_id)
    if agent is None or agent not in REPORT_KINDS:
        raise ResourceError(f"No finished run {run_id}: scan_history lists the runs there are.")
    return await stored_report(ctx, run_id, REPORT_KINDS[agent])

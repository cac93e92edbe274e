"""run_pipeline and pipeline_status: the orchestra's pipeline for the repository open in the IDE."""

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.models.orchestra import PipelineRun
from devops_orchestra.server.boundary import OrchestraServer
from devops_orchestra.server.results import structured, tool_errors
from devops_orchestra.server.state import AppState

# The analysis runs the review agent, whose deps scanner may ask OSV about package versions.
RUN = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
STATUS = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


def summary(run: PipelineRun) -> str:
    """The run in a few lines: its state, then each stage."""
    head = f"Pipeline run {run.run_id} of {run.repo} {run.ref} {run.sha[:12]}: {run.state}"
    if run.gate:
        head += f" (gate {run.gate.gate}: {run.gate.reason})"
    if run.superseded_by:
        head += f" (superseded by {run.superseded_by[:12]})"
    return "\n".join([head, *(f"- {s.name}: {s.state}" + (f": {s.summary}" if s.summary else "")
                             + (f" ({s.error})" if s.error else "") for s in run.stages)])


def without_deploys(stages: list[str] | None) -> list[str]:
    """The stages to run when the server may not deploy: all but those that deploy; naming one is an error."""
    from devops_orchestra.orchestra.stages import builtin, pipeline

    known = builtin()
    named = [n for n in stages or [] if n in known and known[n].deploys]
    if named:
        raise OrchestraError(f"stage(s) {', '.join(named)} change a running environment, which this server may not "
                             "do: start it with `serve --allow-deploy`, or use `devops-orchestra submit` in a shell.")
    return stages or [s.name for s in pipeline(known) if not s.deploys]


def register(server: MCPServer[AppState]) -> None:
    """Add run_pipeline and pipeline_status to server."""
    selection = server.selection if isinstance(server, OrchestraServer) else None
    may_deploy = selection is not None and selection.allow_deploy and not selection.read_only

    @server.tool(
        name="run_pipeline",
        title="Run pipeline",
        description="Run the orchestra's stages for a repository's commit as far as the gates let it: analysis "
                    "(review of the change), plan (missing Dockerfile/CI/IaC), test (the repository's own tests, "
                    "which runs its code), build, and only on a server started with --allow-deploy deploy and "
                    "observe. Progress per stage.",
        annotations=RUN,
    )
    async def run_pipeline(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="Repository directory, relative to the workspace root.")] = ".",
        ref: Annotated[str | None, Field(description="Branch or tag the working tree must be at.")] = None,
        stages: Annotated[list[str] | None, Field(description="Subset, e.g. ['analysis']; default all.")] = None,
    ) -> Annotated[CallToolResult, PipelineRun]:
        state = ctx.request_context.lifespan_context

        async def progress(run: PipelineRun) -> None:
            done = sum(s.state not in ("waiting", "running") for s in run.stages)
            moving = next((s for s in run.stages if s.state == "running"), None) or next(
                (s for s in reversed(run.stages) if s.state not in ("waiting", "not reached")), None)
            message = f"{moving.name}: {moving.state}" + (f": {moving.summary}" if moving.summary else "") \
                if moving else run.state
            await ctx.report_progress(done, len(run.stages), message)

        with tool_errors():
            from devops_orchestra.orchestra import submit  # GitPython and the stages: not at start
            from devops_orchestra.orchestra.bus import open_bus
            from devops_orchestra.orchestra.runs import RunBook
            from devops_orchestra.orchestra.worker import watch

            if not may_deploy:
                stages = without_deploys(stages)
            commit = await submit.find_commit(str(state.roots.resolve(path)), ref)
            state.roots.resolve(commit.source)  # the repository's top, which the stages read, is allowed too
            bus = open_bus()
            try:
                run, _ = await submit.submit(bus, commit, stages)
                if bus.url.startswith("memory:") and not run.finished:
                    run = await submit.run_here(bus, run.run_id, progress)
                else:
                    run = await watch(RunBook(bus), run.run_id, progress)
            finally:
                await bus.close()
        return structured(run, summary(run))

    @server.tool(name="pipeline_status", title="Pipeline status", annotations=STATUS,
                 description="A pipeline run: its state, each stage's attempts, timing and summary, and the "
                             "gate that stopped it.")
    async def pipeline_status(
        run_id: Annotated[str, Field(description="The run id run_pipeline returned.")],
    ) -> Annotated[CallToolResult, PipelineRun]:
        with tool_errors():
            from devops_orchestra.orchestra.bus import open_bus
            from devops_orchestra.orchestra.runs import RunBook

            bus = open_bus()
            try:
                run = await RunBook(bus).require(run_id)
            finally:
                await bus.close()
        return structured(run, summary(run))

"""test_gaps and generate_tests: the repository's own tests with coverage, what they leave unrun, and tests that
fill it. Both run the repository's code, so they are open-world and not read-only: a --read-only server never
registers them."""

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from devops_orchestra.models.testing import GeneratedTests, TestGapsReport, TestGapsRequest
from devops_orchestra.server.results import structured, tool_errors
from devops_orchestra.server.state import AppState

# Executes the repository's tests: arbitrary code, which may reach the network; nothing of the tree is written.
RUNS_CODE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


def register(server: MCPServer[AppState]) -> None:
    """Add test_gaps and generate_tests to server."""
    @server.tool(
        name="test_gaps",
        title="Test gaps",
        description=(
            "RUNS THE REPOSITORY'S OWN TESTS (this executes its code) in an isolated copy with a timeout and "
            "coverage, and returns the outcome (passed / failed with the failing tests / could not run and why) and "
            "the functions the tests leave unrun, riskiest first: changed lines uncovered, complexity, security "
            "findings inside, callers; each with file and line range."
        ),
        annotations=RUNS_CODE,
    )
    async def test_gaps(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="Repository directory, relative to the workspace root.")] = ".",
        changed_since: Annotated[str | None, Field(description="Git ref: weigh the lines changed since it.")] = None,
        timeout_s: Annotated[float | None, Field(ge=1, le=3600, description="Default: testing.timeout, else 600.")
                             ] = None,
        max_gaps: Annotated[int, Field(ge=1, le=200)] = 30,
    ) -> Annotated[CallToolResult, TestGapsReport]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            from devops_orchestra.agents.testing.gaps import recorded_test_gaps  # not at start
            from devops_orchestra.render.testing import short_text

            report = await recorded_test_gaps(state.store, TestGapsRequest(
                target=state.roots.resolve(path), display_path=path, changed_since=changed_since,
                timeout_s=timeout_s, max_gaps=max_gaps), progress=ctx.report_progress)
        return structured(report, short_text(report))

    @server.tool(
        name="generate_tests",
        title="Generate tests",
        description=(
            "RUNS THE REPOSITORY'S CODE: writes candidate unittest tests for Python functions its tests leave unrun "
            "(Hypothesis' ghostwriter offline; Claude too with llm and ANTHROPIC_API_KEY), runs each alone under "
            "coverage in an isolated copy and keeps only those that pass and add coverage: their code, the lines "
            "each adds, coverage before/after, and the context (functions, callers, test style) for you to write "
            "more. Writes the kept tests into the repository only with write=true (new files only)."
        ),
        annotations=RUNS_CODE,
    )
    async def generate_tests(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="Repository directory, relative to the workspace root.")] = ".",
        target: Annotated[str | None, Field(description="'path/to/module.py' or 'path/to/module.py:function'; "
                                                        "default: the riskiest gaps.")] = None,
        write: Annotated[bool, Field(description="Write the kept tests into the repository.")] = False,
        llm: Annotated[bool, Field(description="Ask Claude for candidates too (needs ANTHROPIC_API_KEY).")] = False,
    ) -> Annotated[CallToolResult, GeneratedTests]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            from devops_orchestra.agents.testing.generate import generate_tests as generate  # not at start
            from devops_orchestra.render.testing import generated_text

            result = await generate(state.roots.resolve(path), function=target, write=write, use_llm=llm)
        return structured(result, generated_text(result))

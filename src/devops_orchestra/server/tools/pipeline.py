"""generate_pipeline and init_config, and the resource holding each generated file in full."""

import asyncio
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from devops_orchestra.core import proc
from devops_orchestra.models.pipeline import ArtifactName, GeneratedArtifacts
from devops_orchestra.models.requests import PipelineRequest
from devops_orchestra.server.paging import RESPONSE_BUDGET_CHARS
from devops_orchestra.server.results import structured, tool_errors
from devops_orchestra.server.state import AppState

ARTIFACT_URI = "orchestra://runs/{run_id}/artifacts/{+name}"


# What init_config returns: the file it wrote and its text (a docstring would land in the tool schema).
class InitResult(BaseModel):
    path: str
    content: str


def register(server: MCPServer[AppState]) -> None:
    """Add generate_pipeline, init_config and the resource with each generated file to server."""
    @server.tool(
        name="generate_pipeline",
        title="Generate pipeline",
        description=(
            "Generate Dockerfile + .dockerignore per component, CI/CD (GitHub Actions or GitLab CI), Kubernetes "
            "manifests, Terraform (AWS), docker-compose and Prometheus alert rules for a repository (settings from "
            "devops_orchestra.yaml or inferred), each validated with checkov, hadolint, check-jsonschema and "
            "actionlint before it is returned. Writes files only with write=true."
        ),
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                                    open_world_hint=False),
    )
    async def generate_pipeline(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="Repository directory, relative to the workspace root.")] = ".",
        artifacts: Annotated[
            list[ArtifactName] | None, Field(description="Subset; default: all that fit the repository.")
        ] = None,
        write: Annotated[bool, Field(description="Write the files into the repository.")] = False,
        overwrite: Annotated[bool, Field(description="With write: replace existing files (diff returned).")] = False,
    ) -> Annotated[CallToolResult, GeneratedArtifacts]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            root = state.roots.resolve(path)
            from devops_orchestra.agents import pipeline  # not at start

            report = await pipeline.recorded_generate(
                state.store, PipelineRequest(target=root, display_path=path, artifacts=artifacts, write=write,
                                             overwrite=overwrite),
                checkov_runner=state.runners.get("checkov") or proc.run)
        shown = fit(report)
        from devops_orchestra.render.pipeline import as_text

        return structured(shown, as_text(shown))

    @server.tool(
        name="init_config",
        title="Write devops_orchestra.yaml",
        description="Write devops_orchestra.yaml at the repository root with settings inferred from the repository "
                    "(never over an existing file).",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                    open_world_hint=False),
    )
    async def init_config(
        ctx: Context[AppState],
        path: Annotated[str, Field(description="Repository directory, relative to the workspace root.")] = ".",
    ) -> Annotated[CallToolResult, InitResult]:
        state = ctx.request_context.lifespan_context
        with tool_errors():
            root = state.roots.resolve(path)
            from devops_orchestra.agents import pipeline

            target, text = await asyncio.to_thread(pipeline.init_config, root)
        return structured(InitResult(path=str(target), content=text), f"Wrote {target}.")

    @server.resource(ARTIFACT_URI, name="generated-artifact", title="A file generate_pipeline produced",
                     mime_type="text/plain")
    async def artifact(run_id: str, name: str, ctx: Context[AppState]) -> str:
        store = ctx.request_context.lifespan_context.store
        report = await asyncio.to_thread(store.report, run_id, GeneratedArtifacts)
        if report is None:
            raise ResourceError(f"No finished generate_pipeline run {run_id}: scan_history lists the runs there are.")
        for f in report.files:
            if f.path == name and f.content is not None:
                return f.content
        raise ResourceError(f"Run {run_id} generated no file {name!r}; it generated "
                            f"{', '.join(f.path for f in report.files)}.")


def fit(report: GeneratedArtifacts) -> GeneratedArtifacts:
    """Keep the response under the client's budget: the contents that fit are returned, the rest by resource."""
    files = [f.model_copy() for f in report.files]
    shown = report.model_copy(update={"files": files})
    used = len(shown.model_dump_json(exclude_none=True)) + 2_000  # the text beside it
    for f in sorted(files, key=lambda f: f.size, reverse=True):
        if used <= RESPONSE_BUDGET_CHARS:
            break
        used -= len(f.model_dump_json(include={"content"})) - 60
        f.content = None
        f.content_uri = ARTIFACT_URI.replace("{run_id}", report.run_id).replace("{+name}", f.path)
    return shown

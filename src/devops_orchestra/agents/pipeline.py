"""The pipeline agent: generate build and deploy artifacts for a repository, prove them valid, maybe write them."""

from __future__ import annotations

import asyncio
import difflib
import time
from pathlib import Path, PurePosixPath
from typing import Any

from devops_orchestra.agents.runs import rank_key, recorded
from devops_orchestra.core import llm, proc
from devops_orchestra.core.errors import OrchestraError, PathError
from devops_orchestra.core.store import Store
from devops_orchestra.models import Severity
from devops_orchestra.models.pipeline import (
    ARTIFACTS,
    ArtifactName,
    GeneratedArtifacts,
    GeneratedFile,
    ServiceSpec,
    Unsatisfied,
    WriteStatus,
)
from devops_orchestra.models.requests import PipelineRequest
from devops_orchestra.pipeline import detect, entrypoint_check, lint, rendering
from devops_orchestra.pipeline.config import CONFIG_NAME, OrchestraConfig, load, parse


def default_artifacts(root: Path, config: OrchestraConfig, components: list[ServiceSpec]) \
        -> list[ArtifactName]:
    """All that fit: a Dockerfile per component, CI (GitLab's when the repository is there), manifests when a
    service runs on kubernetes, Terraform when configured or for ECS, compose for data stores, alert rules."""
    chosen: list[ArtifactName] = ["dockerfile"]
    if not any(c.supported for c in components):
        return chosen  # CI and manifests build on the templated Dockerfiles
    gitlab = "gitlab" in (config.project.repo or "") or (root / ".gitlab-ci.yml").exists()
    chosen.append("gitlab-ci" if gitlab else "github-actions")
    runtimes = {s.runtime for s in config.deployment.services} or {"kubernetes"}
    if "kubernetes" in runtimes:
        chosen.append("kubernetes")
    if any(c.datastores for c in components) or len(components) > 1:
        chosen.append("compose")
    if (config.infrastructure and config.infrastructure.tool == "terraform") or "ecs" in runtimes:
        chosen.append("terraform")
    if config.observability.enabled and "prometheus" in config.observability.tools:
        chosen.append("observability")
    return chosen


def config_for(root: Path, components: list[ServiceSpec]) -> tuple[OrchestraConfig, bool]:
    """(the configuration, whether it came from devops_orchestra.yaml)."""
    loaded = load(root)
    if loaded is None:
        return rendering.infer_config(root, components), False
    if loaded.project.name is None:  # the name every resource carries: the directory's, as init_config infers
        loaded = loaded.model_copy(update={"project": loaded.project.model_copy(
            update={"name": detect.dns_name(root.name)})})
    return loaded, True


def components_of(root: Path) -> list[ServiceSpec]:
    """The services to build and deploy under root; an error saying where we looked when there is none."""
    if not root.is_dir():
        raise PathError(f"{root} is a file: give the repository's directory.")
    found = detect.detect(root)
    if not found:
        raise OrchestraError(
            f"No application found in {root}: looked for package.json, pyproject.toml, requirements.txt, go.mod, "
            "pom.xml or build.gradle there and in frontend/, backend/, apps/*, services/*. Point path at the "
            "directory that holds one.")
    return found


async def generate(
    root: Path, run_id: str, *, display_path: str, artifacts: list[ArtifactName] | None = None,
    write: bool = False, overwrite: bool = False, checkov_runner: proc.Runner = proc.run,
) -> GeneratedArtifacts:
    """Render the artifacts (default: all that fit), lint them, and write those left clean when asked."""
    started = time.perf_counter()
    components = await asyncio.to_thread(components_of, root)
    config, from_file = await asyncio.to_thread(config_for, root, components)
    wanted = list(dict.fromkeys(artifacts or default_artifacts(root, config, components)))
    unknown = [a for a in wanted if a not in ARTIFACTS]
    if unknown:
        raise OrchestraError(f"{', '.join(unknown)}: no such artifact; choose from {', '.join(ARTIFACTS)}.")
    plan = rendering.render(config, components, wanted)
    if "dockerfile" in wanted:
        for c in components:
            if not c.supported:
                await _draft_dockerfile(root, c, plan)
    verdict = await asyncio.to_thread(entrypoint_check.check, root, plan.files, components)
    findings, linters = await lint.validate(plan.files, checkov_runner=checkov_runner, verdict=verdict)
    findings, unsatisfied = _accept(findings, plan.unsatisfied)
    findings.sort(key=rank_key)
    blocking = {f.location.path for f in findings if f.severity.rank >= Severity.high.rank}
    files = []
    for r in plan.files:
        lines = [f"{f.rule_id} line {f.location.start_line} ({f.severity.value}): {f.title}"
                 for f in findings if f.location.path == r.path]
        status: WriteStatus = "not-written"
        diff = None
        if write and r.path not in blocking:
            status, diff = await asyncio.to_thread(_write, root, r.path, r.content, overwrite)
        files.append(GeneratedFile(artifact=r.artifact, path=r.path, content=r.content, size=len(r.content),
                                   status=status, diff=diff, lint=lines))
    notes = [f"{c.path}: starts with `{' '.join(c.start)}` (from {c.start_from}); port {c.port} (from "
             f"{c.port_from})" for c in components if c.supported and c.start_from] + list(plan.notes) + verdict.notes
    if write and blocking:
        notes.append(f"Not written because high or critical lint results remain: {', '.join(sorted(blocking))}.")
    if not from_file:
        notes.append("No devops_orchestra.yaml: settings were inferred from the repository (init_config writes "
                     "them to a file you can edit).")
    return GeneratedArtifacts(
        run_id=run_id, root=str(root), path=display_path, duration_s=round(time.perf_counter() - started, 3),
        findings=findings,
        config="devops_orchestra.yaml" if from_file else "inferred", components=components, files=files,
        linters=linters, clean=not any(f.severity.rank >= Severity.high.rank for f in findings)
        and all(r.status == "ok" for r in linters),
        unsatisfied=unsatisfied, notes=notes,
    )


async def _draft_dockerfile(root: Path, c: ServiceSpec, plan: rendering.Plan) -> None:
    """A stack without a template: the LLM drafts a Dockerfile (validated like the rest), or we say why not."""
    why = f"{c.path}: a {c.language} project; the templates cover Python, Node, Go and Java."
    if not llm.configured():
        plan.unsatisfied.append(Unsatisfied(
            rule_id="pipeline:stack", title=f"No template for {c.language}", paths=[c.path],
            reason=f"{why} Set ANTHROPIC_API_KEY to have a Dockerfile drafted (and validated like the rest), "
                   "or write one by hand."))
        return
    prompt = rendering.template("llm-dockerfile.prompt.j2", c=c, manifests=await asyncio.to_thread(_manifests, root, c))
    try:
        text = llm.code_block(await llm.complete(prompt))
    except llm.LlmUnavailable as exc:
        plan.unsatisfied.append(Unsatisfied(
            rule_id="pipeline:stack", title=f"No template for {c.language}", paths=[c.path],
            reason=f"{why} Drafting one with the LLM failed ({exc}); try again, or write one by hand."))
        return
    base = PurePosixPath(c.path)
    plan.files.append(rendering.Rendered("dockerfile", (base / "Dockerfile").as_posix(), text))
    plan.files.append(rendering.Rendered("dockerfile", (base / ".dockerignore").as_posix(),
                                      rendering.template("dockerignore.j2", c=c)))
    plan.notes.append(f"{(base / 'Dockerfile').as_posix()} was drafted by {llm.model()} (no template for "
                      f"{c.language}) and validated like the rest: read it before use. CI and manifests cover "
                      "the templated components only.")


def _manifests(root: Path, c: ServiceSpec) -> list[tuple[str, str]]:
    d = root / c.path
    names = [m for m in detect.OTHER_STACKS if (d / m).is_file()]
    return [(n, (d / n).read_text(encoding="utf-8", errors="replace")[:4_000]) for n in names]


def _accept(findings: list[Any], known: list[Unsatisfied]) -> tuple[list[Any], list[Unsatisfied]]:
    """Split lint results into those that remain and those a template cannot satisfy (listed with the reason).

    A known limitation is listed only where its check really failed."""
    remaining, listed = [], []
    for u in known:
        if not u.rule_id.startswith("checkov:"):
            listed.append(u)  # not a lint rule: a gap in what was generated
            continue
        hit = [f for f in findings if f.rule_id == u.rule_id and f.location.path in u.paths]
        if hit:
            listed.append(u.model_copy(update={"paths": sorted({f.location.path for f in hit})}))
    accepted = {(u.rule_id, p) for u in listed for p in u.paths}
    remaining = [f for f in findings if (f.rule_id, f.location.path) not in accepted]
    return remaining, listed


def _write(root: Path, rel: str, content: str, overwrite: bool) -> tuple[WriteStatus, str | None]:
    target = root / rel
    if not target.parent.resolve().is_relative_to(root.resolve()) or (
            target.is_symlink() and not target.resolve().is_relative_to(root.resolve())):
        raise PathError(f"{rel} would be written outside {root}; remove the link that leads out.")
    if target.exists():
        old = target.read_text(encoding="utf-8", errors="replace")
        if old == content:
            return "unchanged", None
        if not overwrite:
            return "kept-existing", None
        diff = "".join(difflib.unified_diff(old.splitlines(keepends=True), content.splitlines(keepends=True),
                                            fromfile=f"a/{rel}", tofile=f"b/{rel}"))
        target.write_text(content, encoding="utf-8")
        return "overwritten", diff
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    return "written", None


async def recorded_generate(store: Store, request: PipelineRequest, *,
                            checkov_runner: proc.Runner = proc.run) -> GeneratedArtifacts:
    """generate, kept in the run store."""
    return await recorded(store, "pipeline", request, lambda run_id: generate(
        request.target, run_id, display_path=request.display_path, artifacts=request.artifacts,
        write=request.write, overwrite=request.overwrite, checkov_runner=checkov_runner))


def init_config(root: Path) -> tuple[Path, str]:
    """Write the inferred devops_orchestra.yaml at root, never over an existing one. Blocking."""
    target = root / CONFIG_NAME
    if target.exists():
        raise OrchestraError(f"{target} already exists: edit it, or delete it first to infer a new one.")
    config = rendering.infer_config(root, components_of(root))
    text = "# devops-orchestra settings, inferred from the repository: edit freely.\n" + config.to_yaml()
    parse(text, str(target))  # what we write must load again
    target.write_text(text, encoding="utf-8")
    return target, text


__all__ = ["ARTIFACTS", "generate", "init_config", "recorded_generate"]

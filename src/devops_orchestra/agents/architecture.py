"""The architecture agent: what this system is (stack, components, stores, infrastructure, import graph),
drawn as Mermaid and judged as findings. Reads files only: never imports or runs the user's code.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TypeVar

from devops_orchestra.agents.runs import Progress, new_run_id, rank_key, recorded
from devops_orchestra.analyzers import mermaid, stores
from devops_orchestra.analyzers.components import Assembly, assemble
from devops_orchestra.analyzers.config_secrets import ConfigSecret, find_secrets, is_config
from devops_orchestra.analyzers.imports import Graph, build_graph
from devops_orchestra.analyzers.infra import InfraFacts, is_infra, read_infra
from devops_orchestra.analyzers.layers import LayerRules, load_rules
from devops_orchestra.analyzers.sources import FileFacts, analyse
from devops_orchestra.analyzers.stack import WEB_FRAMEWORKS, frameworks, is_manifest, read_manifests
from devops_orchestra.core.store import Store
from devops_orchestra.core.workspace import Inventory, build_inventory
from devops_orchestra.models import Confidence, Finding, Location, Remediation, Severity
from devops_orchestra.models.architecture import (
    ArchitectureReport,
    Component,
    Diagrams,
    EntryPoint,
    Hotspot,
    LanguageStat,
    Manifest,
)
from devops_orchestra.models.requests import ArchitectureRequest
from devops_orchestra.scanners.base import SourceLines, fingerprint, make_finding

T = TypeVar("T")

GOD_MODULE_LINES = 1_500
GOD_MODULE_FAN_OUT = 30
NO_TESTS_MIN_LINES = 50
MAX_LAYER_FINDINGS = 500
TOP_HOTSPOTS = 20
# Each list is cut to this many entries in the report (lists_cut says what the full count was).
LIMITS = {"manifests": 50, "frameworks": 40, "entry_points": 40, "components": 50, "data_stores": 30,
          "dockerfiles": 30, "compose_services": 50, "kubernetes": 60, "helm_charts": 20, "terraform": 80,
          "serverless": 30, "warnings": 30, "package_edges": 150}



async def architecture_analysis(target: Path, *, progress: Progress | None = None, display_path: str = ".",
                                run_id: str | None = None, inventory: Inventory | None = None) -> ArchitectureReport:
    """Analyse the directory target (inventory: its inventory, when the caller has it). Blocking work runs in
    a worker thread."""
    started = time.perf_counter()
    if inventory is None:
        inventory = await asyncio.to_thread(build_inventory, target)
    if progress:
        await progress(1, 3, f"inventory: {len(inventory.files)} files, {len(inventory.skipped)} left out")
    collected = await asyncio.to_thread(_read_all, inventory)
    if progress:
        await progress(2, 3, f"read {len(collected.facts)} files")
    report = await asyncio.to_thread(_build, inventory, collected, display_path, run_id or new_run_id())
    report.duration_s = round(time.perf_counter() - started, 2)
    if progress:
        await progress(3, 3, f"{len(report.components)} components, {report.findings_total} findings")
    return report


async def recorded_architecture_analysis(store: Store, request: ArchitectureRequest, *,
                                         progress: Progress | None = None) -> ArchitectureReport:
    """architecture_analysis, kept in the run store."""
    return await recorded(store, "architecture", request, lambda run_id: architecture_analysis(
        request.target, progress=progress, display_path=request.display_path, run_id=run_id))


def config_secret_findings(inventory: Inventory) -> list[Finding]:
    """Blocking: only the secret-in-config findings, from the config files alone (what compliance needs)."""
    secrets: list[ConfigSecret] = []
    for f in inventory.files:
        if is_config(f.rel) and not f.is_test:  # as the full analysis reads them
            try:
                secrets += find_secrets(f.rel, (inventory.base / f.rel).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
    return _secret_findings(secrets, SourceLines(inventory.base))


@dataclass
class _Collected:
    """What one pass over the files keeps: per-file facts, and the text of the few files parsed later."""

    facts: list[FileFacts] = field(default_factory=list)
    manifests: list[tuple[str, str]] = field(default_factory=list)  # (path, text)
    infra: list[tuple[str, str, bool]] = field(default_factory=list)  # (path, text, looks like Kubernetes)
    secrets: list[ConfigSecret] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _read_all(inventory: Inventory) -> _Collected:
    out = _Collected()
    for f in inventory.files:
        try:
            text = (inventory.base / f.rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # changed since the inventory was taken
            out.warnings.append(f"{f.rel}: could not read it ({exc})")
            continue
        facts = analyse(f.rel, f.language, text, f.is_test)
        if facts.error:
            out.warnings.append(facts.error)
        out.facts.append(facts)
        if f.is_test:
            continue  # manifests, infrastructure and config under tests/ are fixtures, not the system
        if is_manifest(f.rel):
            out.manifests.append((f.rel, text))
        if is_infra(f.rel, f.is_kubernetes):
            out.infra.append((f.rel, text, f.is_kubernetes))
        if is_config(f.rel):
            out.secrets += find_secrets(f.rel, text)
    return out


def _build(inventory: Inventory, got: _Collected, display_path: str, run_id: str) -> ArchitectureReport:
    base = inventory.base
    tests = {f.rel for f in inventory.files if f.is_test}
    stack = read_manifests(base, got.manifests)
    infra = read_infra(got.infra)
    rules, rule_warnings = load_rules(base)
    graph = build_graph(got.facts, stack.go_modules, base.name)

    fws = frameworks(stack.dependencies)
    declared = {fw.name for fw in fws}
    fws += [fw for fw in frameworks(d for d in graph.external if d.where.path not in tests) if fw.name not in declared]
    fws = list({(fw.name, fw.path): fw for fw in fws}.values())
    entry_points = [*stack.entry_points, *_code_entry_points(got.facts, tests), *_docker_entry_points(infra)]

    sightings = [s for d in [*stack.dependencies, *graph.external] if (s := stores.from_dependency(d))]
    sightings += [s for f in got.facts if f.rel not in tests for scheme, host, line in f.connections
                  if (s := stores.from_url(scheme, host, f.rel, line))]
    sightings += [s for r, body in infra.terraform_bodies if (s := stores.from_terraform(r.type, body, r.path, r.line))]
    assembly = assemble(base.name, got.facts, tests, stack, infra, fws, entry_points, sightings)

    source = SourceLines(base)
    findings = [
        *_cycle_findings(graph, source),
        *_layer_findings(graph, rules, source),
        *_god_modules(graph, got.facts, tests, source),
        *_component_findings(assembly, stack.manifests, source),
        *_shared_databases(assembly, source),
        *_secret_findings(got.secrets, source),
        *_ci_findings(infra, got.facts),
    ]
    findings.sort(key=rank_key)

    summary = graph.summary(tests)
    summary.cycles = [[graph.names[n] for n in cycle] for cycle in graph.cycles()]
    cut: dict[str, int] = {}

    def limit(name: str, items: list[T]) -> list[T]:
        if len(items) > LIMITS[name]:
            cut[name] = len(items)
        return items[: LIMITS[name]]

    diagrams = Diagrams(components=mermaid.system_diagram(assembly.components, assembly.data_stores, infra.infra),
                        packages=mermaid.package_diagram(summary))
    summary.package_edges = limit("package_edges", sorted(summary.package_edges, key=lambda e: -e.imports))
    inf = infra.infra
    for name in ("dockerfiles", "compose_services", "kubernetes", "helm_charts", "terraform", "serverless"):
        setattr(inf, name, limit(name, getattr(inf, name)))
    hotspots = sorted((Hotspot(path=f.rel, function=h.name, line=h.line, complexity=h.complexity, lines=h.lines)
                       for f in got.facts for h in f.hotspots), key=lambda h: (-h.complexity, h.path, h.line))
    return ArchitectureReport(
        run_id=run_id, root=str(base), path=display_path, duration_s=0.0, findings=findings,
        languages=_languages(got.facts, tests),
        manifests=limit("manifests", stack.manifests),
        frameworks=limit("frameworks", sorted(fws, key=lambda f: (f.path, f.name))),
        entry_points=limit("entry_points", entry_points),
        components=limit("components", assembly.components),
        data_stores=limit("data_stores", assembly.data_stores),
        infrastructure=inf, imports=summary, hotspots=hotspots[:TOP_HOTSPOTS],
        functions=sum(f.functions for f in got.facts), layer_rules=rules.source if rules else None,
        diagrams=diagrams,
        warnings=limit("warnings", [*got.warnings, *stack.warnings, *infra.warnings, *rule_warnings]),
        lists_cut=cut, scope=inventory.scope(),
    )


def _languages(facts: list[FileFacts], tests: set[str]) -> list[LanguageStat]:
    stats: dict[str, LanguageStat] = {}
    for f in facts:
        if f.language == "other":
            continue
        s = stats.setdefault(f.language, LanguageStat(language=f.language, files=0, lines=0))
        s.files += 1
        s.lines += f.lines
        if f.rel in tests:
            s.test_files += 1
            s.test_lines += f.lines
    return sorted(stats.values(), key=lambda s: -s.lines)


def _code_entry_points(facts: list[FileFacts], tests: set[str]) -> list[EntryPoint]:
    kinds = {"python": "main guard", "go": "go main package", "java": "java main"}
    out = []
    for f in facts:
        if f.main_line and f.rel not in tests:
            kind = "main module" if f.rel.endswith("__main__.py") else kinds.get(f.language, "main")
            out.append(EntryPoint(kind=kind, path=f.rel, line=f.main_line))
    return out


def _docker_entry_points(infra: InfraFacts) -> list[EntryPoint]:
    return [EntryPoint(kind="docker command", path=d.path, command=d.command) for d in infra.infra.dockerfiles
            if d.command]


def _finding(rule: str, *, category: str, severity: Severity, title: str, message: str, path: str, line: int,
             source: SourceLines, fix: str, context: str | None = None, confidence: Confidence = "high") -> Finding:
    return make_finding(
        scanner="architecture", rule_id=f"arch:{rule}", category=category, severity=severity,
        confidence=confidence, title=title, message=message, path=path,
        start_line=line, end_line=line, source=source, remediation=Remediation(summary=fix),
        fingerprint_context=context,
    )


def _node_path(node: str) -> str:
    return node.rstrip("/") or "."


def _cycle_findings(graph: Graph, source: SourceLines) -> list[Finding]:
    out = []
    for cycle in graph.cycles():
        first = graph.edges[(cycle[0], cycle[1])]
        line = next((i.line for i in first.imports if i.top_level), first.imports[0].line)
        chain = " -> ".join(graph.names[n] for n in cycle)
        out.append(_finding(
            "import-cycle", category="architecture", severity=Severity.medium, title="Import cycle",
            message=f"These modules import each other at import time: {chain}. A cycle makes the import order "
                    "matter, hides a missing abstraction and stops the modules being understood or tested alone.",
            path=_node_path(cycle[0]), line=line, source=source, context=chain,
            fix="Move what both sides need into a module of its own, invert the dependency (pass it in), or "
                "import lazily inside the function that needs it.",
        ))
    return out


def _layer_findings(graph: Graph, rules: LayerRules | None, source: SourceLines) -> list[Finding]:
    if rules is None:
        return []
    out = []
    for (src, dst), edge in sorted(graph.edges.items()):
        a = rules.layer_of(_node_path(src), graph.names[src])
        b = rules.layer_of(_node_path(dst), graph.names[dst])
        why = rules.violation(a, b) if a and b else None
        if why is None:
            continue
        for imp in edge.imports:
            out.append(_finding(
                "layer-violation", category="architecture", severity=Severity.high,
                title=f"Layer {a} imports layer {b}",
                message=f"{graph.names[src]} (layer {a}) imports {graph.names[dst]} (layer {b}): {why}.",
                path=_node_path(src), line=imp.line, source=source,
                fix=f"Depend on an interface owned by {a}, or move the code {a} needs out of {b}; "
                    f"if the rule is wrong, change `architecture.layers` in {rules.source}.",
            ))
            if len(out) >= MAX_LAYER_FINDINGS:
                return out
    return out


def _god_modules(graph: Graph, facts: list[FileFacts], tests: set[str], source: SourceLines) -> list[Finding]:
    fan_out: dict[str, int] = defaultdict(int)
    for src, dst in graph.edges:
        if src != dst:
            fan_out[src] += 1
    functions = {f.rel: f.functions for f in facts}
    out = []
    for node, lines in graph.lines.items():
        if node in tests or (lines < GOD_MODULE_LINES and fan_out[node] < GOD_MODULE_FAN_OUT):
            continue
        out.append(_finding(
            "god-module", category="maintainability", severity=Severity.low, title="God module",
            message=f"{graph.names[node]} has {lines} non-blank lines, {functions.get(node, 0)} functions and imports "
                    f"{fan_out[node]} internal modules (limits: {GOD_MODULE_LINES} lines, {GOD_MODULE_FAN_OUT} "
                    "imports). Everything that touches it is coupled to everything in it.",
            path=_node_path(node), line=1, source=source, context=graph.names[node],
            fix="Split it along the responsibilities it mixes; keep a thin module re-exporting the old names "
                "while callers move.", confidence="medium",
        ))
    return out


def _component_findings(assembly: Assembly, manifests: list[Manifest], source: SourceLines) -> list[Finding]:
    out = []
    for c in assembly.components:
        if not c.kinds or (c.path == "" and not {"manifest", "dockerfile", "go main"} & set(c.kinds)):
            continue  # compose or k8s units with no code here
        where = _component_file(c, manifests)
        if c.lines >= NO_TESTS_MIN_LINES and c.test_files == 0:
            out.append(_finding(
                "no-tests", category="testing", severity=Severity.medium, title=f"Component {c.name} has no tests",
                message=f"{c.name} ({c.path or '.'}) has {c.lines} lines of {c.language or 'code'} and no test files.",
                path=where, line=1, source=source, context=c.name,
                fix="Add tests beside the code (tests/, *_test.go, *.test.ts) and run them in CI.",
            ))
        serves = bool(WEB_FRAMEWORKS & set(c.frameworks))
        if serves and not c.health_checks:
            out.append(_finding(
                "no-health-endpoint", category="operability", severity=Severity.low,
                title=f"Component {c.name} has no health endpoint",
                message=f"{c.name} serves HTTP ({', '.join(sorted(WEB_FRAMEWORKS & set(c.frameworks)))}) but has no "
                        "route like /health, /healthz or /ready, no Dockerfile HEALTHCHECK, compose healthcheck "
                        "or Kubernetes probe: an orchestrator cannot tell a hung instance from a working one.",
                path=where, line=1, source=source, context=c.name, confidence="medium",
                fix="Add a cheap GET /healthz (liveness) and /readyz (checks its database) and point the "
                    "Kubernetes probes or a Dockerfile HEALTHCHECK at them.",
            ))
        if (serves or "go main" in c.kinds) and c.dockerfile is None and "serverless" not in c.kinds:
            out.append(_finding(
                "no-dockerfile", category="operability", severity=Severity.low,
                title=f"Component {c.name} has no Dockerfile",
                message=f"{c.name} is a deployable service but nothing in the tree builds an image of it.",
                path=where, line=1, source=source, context=c.name, confidence="medium",
                fix="Add a Dockerfile beside its manifest (pinned base image, non-root USER, HEALTHCHECK).",
            ))
    return out


def _component_file(c: Component, manifests: list[Manifest]) -> str:
    folder = c.path or "."
    found = next((m.path for m in manifests if str(PurePosixPath(m.path).parent) == folder), None)
    if found:
        return found
    if c.entry_points:
        return c.entry_points[0].split(":")[0]
    return c.dockerfile or folder


def _shared_databases(assembly: Assembly, source: SourceLines) -> list[Finding]:
    groups: dict[tuple[str, str], dict[str, tuple[str, int]]] = defaultdict(dict)
    for u in assembly.usages:
        if u.kind == stores.DATABASE and u.host:
            groups[(u.store, u.host)].setdefault(u.component, (u.path, u.line))
    out = []
    for (name, host), users in sorted(groups.items()):
        if len(users) < 2:
            continue
        names = sorted(users)
        path, line = users[names[1]]
        out.append(_finding(
            "shared-database", category="architecture", severity=Severity.medium,
            title=f"{len(names)} components share one {name} database",
            message=f"{', '.join(names)} all use the {name} database at {host}: a schema change in one breaks the "
                    "others, and none of them owns the data.",
            path=path, line=line, source=source, context=f"{name}@{host}:{','.join(names)}", confidence="medium",
            fix="Give each service its own schema or database and share data through an API or events; "
                "at least give one service ownership of each table.",
        ))
    return out


def _secret_findings(secrets: list[ConfigSecret], source: SourceLines) -> list[Finding]:
    return [_finding(
        "secret-in-config", category="secret", severity=Severity.high, title=f"Secret in a config file: {s.key}",
        message=f"{s.path} holds {s.why} ({s.key}) in clear text: everyone with the repository has it, "
                "and it stays in the git history after it is removed.",
        path=s.path, line=s.line, source=source, context=f"{s.key}:{s.line}" if s.kind == "private key" else None,
        fix="Rotate it, then read it from the environment or a secret manager (Kubernetes Secret, Vault, "
            "AWS Secrets Manager) and keep only a placeholder in the file.",
        confidence=s.confidence,
    ) for s in secrets]


def _ci_findings(infra: InfraFacts, facts: list[FileFacts]) -> list[Finding]:
    if infra.infra.ci or not any(f.language in ("python", "javascript", "typescript", "go", "java") for f in facts):
        return []
    return [Finding(
        id=fingerprint("arch:no-ci", ".", ""), rule_id="arch:no-ci", scanner="architecture", category="process",
        severity=Severity.medium,
        confidence="high", title="No CI configuration",
        message="No GitHub Actions, GitLab CI, Jenkins, CircleCI, Azure Pipelines, Travis, Bitbucket or Drone "
                "configuration was found: nothing builds and tests every change.",
        location=Location(path=".", start_line=1, end_line=1),
        remediation=Remediation(summary="Add a pipeline that runs the tests and the security scan on every push "
                                        "(e.g. .github/workflows/ci.yml)."),
    )]

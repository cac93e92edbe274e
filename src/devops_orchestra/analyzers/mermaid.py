"""Mermaid flowcharts a person can paste into a pull request: the system, and its package graph."""

from __future__ import annotations

import re

from devops_orchestra.analyzers.stores import SERVICE
from devops_orchestra.models.architecture import Component, DataStore, ImportGraph, Infrastructure

MAX_COMPONENTS = 30
MAX_STORES = 20
MAX_PACKAGE_EDGES = 120


def system_diagram(components: list[Component], stores: list[DataStore], infra: Infrastructure) -> str:
    """Mermaid flowchart of components, data stores, external services and infrastructure."""
    out = ["flowchart LR"]
    shown = components[:MAX_COMPONENTS]
    if shown:
        out.append('  subgraph components["Components"]')
        for c in shown:
            details = " · ".join(x for x in (c.language, ", ".join(c.frameworks),
                                             ", ".join(f":{p}" for p in c.ports[:3])) if x)
            out.append(f'    {_id("c", c.name)}["{_label(c.name)}{"<br/>" + _label(details) if details else ""}"]')
        if len(components) > len(shown):
            out.append(f'    c_more["… {len(components) - len(shown)} more"]')
        out.append("  end")
    data = [s for s in stores if s.kind != SERVICE][:MAX_STORES]
    services = [s for s in stores if s.kind == SERVICE][:MAX_STORES]
    if data:
        out.append('  subgraph stores["Data stores"]')
        out += [f'    {_id("s", s.name)}[("{_label(s.name)}<br/>{_label(s.kind)}")]' for s in data]
        out.append("  end")
    if services:
        out.append('  subgraph external["External services"]')
        out += [f'    {_id("s", s.name)}{{{{"{_label(s.name)}"}}}}' for s in services]
        out.append("  end")
    infra_nodes = _infra_nodes(infra)
    if infra_nodes:
        out.append('  subgraph infra["Infrastructure"]')
        out += [f'    {node}["{_label(label)}"]' for node, label in infra_nodes]
        out.append("  end")
    names = {c.name for c in shown}
    for c in shown:
        for s in c.data_stores:
            if any(s == d.name for d in [*data, *services]):
                out.append(f"  {_id('c', c.name)} --> {_id('s', s)}")
        for dep in c.depends_on:
            if dep in names:
                out.append(f"  {_id('c', c.name)} -.-> {_id('c', dep)}")
        if c.dockerfile and infra.dockerfiles:
            out.append(f"  infra_docker -. builds .-> {_id('c', c.name)}")
        if "kubernetes" in c.kinds and infra.kubernetes:
            out.append(f"  infra_k8s -. deploys .-> {_id('c', c.name)}")
        if "compose" in c.kinds and infra.compose_services:
            out.append(f"  infra_compose -. runs .-> {_id('c', c.name)}")
    for ds in data:
        if infra.terraform and any(".tf:" in e for e in ds.evidence):
            out.append(f"  infra_tf -. provisions .-> {_id('s', ds.name)}")
    return "\n".join(out) + "\n"


def package_diagram(graph: ImportGraph) -> str:
    """Mermaid flowchart of the internal packages, the strongest import edges labelled with counts."""
    out = ["flowchart LR"]
    out += [f'  {_id("p", p)}["{_label(p)}"]' for p in graph.packages]
    strongest = sorted(graph.package_edges, key=lambda e: -e.imports)[:MAX_PACKAGE_EDGES]
    for e in sorted(strongest, key=lambda e: (e.source, e.target)):
        out.append(f"  {_id('p', e.source)} -->|{e.imports}| {_id('p', e.target)}")
    if len(graph.package_edges) > len(strongest):
        out.append(f"  %% {len(graph.package_edges) - len(strongest)} weaker edges left out")
    return "\n".join(out) + "\n"


def _infra_nodes(infra: Infrastructure) -> list[tuple[str, str]]:
    nodes = []
    if infra.dockerfiles:
        nodes.append(("infra_docker", f"Docker: {len(infra.dockerfiles)} Dockerfile(s)"))
    if infra.compose_services:
        nodes.append(("infra_compose", f"Compose: {len(infra.compose_services)} services"))
    if infra.kubernetes:
        kinds = ", ".join(f"{n} {k}" for k, n in infra.kubernetes_by_kind.items())
        nodes.append(("infra_k8s", f"Kubernetes: {kinds}"))
    if infra.helm_charts:
        nodes.append(("infra_helm", f"Helm: {', '.join(c.name for c in infra.helm_charts[:5])}"))
    if infra.terraform:
        providers = ", ".join(f"{p} {n}" for p, n in infra.terraform_by_provider.items())
        nodes.append(("infra_tf", f"Terraform: {providers}"))
    if infra.serverless:
        nodes.append(("infra_fn", f"Serverless: {len(infra.serverless)} functions"))
    if infra.ci:
        nodes.append(("infra_ci", f"CI: {', '.join(c.name for c in infra.ci)}"))
    return nodes


def _id(prefix: str, name: str) -> str:
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def _label(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")

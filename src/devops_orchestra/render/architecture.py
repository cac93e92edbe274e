"""How an architecture report reads: a short text beside the structured content, the CLI's summary and
the Markdown resource with both Mermaid diagrams."""

from __future__ import annotations

from devops_orchestra.models import ArchitectureReport
from devops_orchestra.render.common import TEXT_FINDINGS


def short_text(report: ArchitectureReport) -> str:
    """A few lines beside the structured content: counts, the worst findings, where the full report is."""
    s = report.summary
    langs = ", ".join(f"{lang.language} {lang.lines}" for lang in report.languages[:5])
    lines = [
        f"Architecture of {report.path}: {len(report.components)} components, {len(report.data_stores)} data stores "
        f"and services, {report.imports.modules} modules, {len(report.imports.cycles)} import cycles; "
        f"{s.total} findings (high {s.high}, medium {s.medium}, low {s.low}) in {report.duration_s:.1f} s.",
        f"Lines: {langs or 'no source files'}.",
    ]
    for f in report.findings[:TEXT_FINDINGS]:
        lines.append(f"- [{f.severity.value}] {f.location.path}:{f.location.start_line} {f.title} ({f.rule_id})")
    if report.findings_returned < report.findings_total:
        where = f" Every finding and both diagrams: {report.full_report}." if report.full_report else ""
        lines.append(f"Returned the first {report.findings_returned} of {report.findings_total}.{where}")
    elif report.full_report:
        lines.append(f"Report with both Mermaid diagrams: {report.full_report}.")
    return "\n".join(lines)


def full_text(report: ArchitectureReport) -> str:
    """The CLI's readable summary."""
    out = [short_text(report).splitlines()[0], ""]
    if report.frameworks:
        out.append("Frameworks: " + ", ".join(f"{f.name} {f.version or ''}".strip() + f" ({f.path})"
                                             for f in report.frameworks[:15]))
    if report.manifests:
        out.append("Manifests: " + ", ".join(f"{m.path} ({m.package_manager})" for m in report.manifests[:15]))
    out += ["", "Components:" if report.components else
            "Components: none (no manifest, Dockerfile, Go main package, compose service, workload or function)"]
    for c in report.components:
        ratio = f", test ratio {c.test_ratio}" if c.test_ratio else ""
        bits = [c.language or "-", ", ".join(c.frameworks), ", ".join(f":{p}" for p in c.ports),
                f"{c.lines} lines, {c.test_files} test files{ratio}"]
        where = c.path or ("." if c.files else f"({', '.join(c.kinds)})")
        out.append(f"  {c.name:<24} {where:<24} " + " · ".join(b for b in bits if b))
        if c.data_stores:
            out.append(f"  {'':<24} uses {', '.join(c.data_stores)}")
    if report.data_stores:
        out += ["", "Data stores and external services:"]
        out += [f"  {d.name:<24} {d.kind:<16} used by {', '.join(d.used_by) or '-'}"
                + (f" (at {d.host})" if d.host else "") for d in report.data_stores]
    inf = report.infrastructure
    infra = [f"Dockerfiles {len(inf.dockerfiles)}" if inf.dockerfiles else "",
             f"compose services {len(inf.compose_services)}" if inf.compose_services else "",
             "Kubernetes " + ", ".join(f"{n} {k}" for k, n in inf.kubernetes_by_kind.items()),
             f"Helm charts {len(inf.helm_charts)}" if inf.helm_charts else "",
             "Terraform " + ", ".join(f"{p} {n}" for p, n in inf.terraform_by_provider.items()),
             f"serverless functions {len(inf.serverless)}" if inf.serverless else "",
             "CI " + ", ".join(c.name for c in inf.ci) if inf.ci else "no CI"]
    out += ["", "Infrastructure: " + "; ".join(i for i in infra if i and not i.endswith(" "))]
    g = report.imports
    out += ["", f"Imports: {g.modules} modules, {g.internal_imports} internal imports, {g.external_packages} "
                f"external packages, {len(g.cycles)} cycles."]
    if g.most_depended_upon:
        out.append("  most depended upon: " + ", ".join(f"{m.module} ({m.fan_in})" for m in g.most_depended_upon[:5]))
    if g.most_depending:
        out.append("  most depending:     " + ", ".join(f"{m.module} ({m.fan_out})" for m in g.most_depending[:5]))
    if report.hotspots:
        out += ["", "Complexity hotspots:"]
        out += [f"  {h.complexity:>4}  {h.path}:{h.line} {h.function} ({h.lines} lines)" for h in report.hotspots[:10]]
    out += ["", "Findings:"] if report.findings else []
    for f in report.findings:
        out.append(f"  [{f.severity.value}] {f.location.path}:{f.location.start_line}  {f.title} ({f.rule_id})")
    if report.warnings:
        out += ["", "Warnings:"] + [f"  {w}" for w in report.warnings]
    return "\n".join(out)


def markdown(report: ArchitectureReport) -> str:
    """The whole report as Markdown with both diagrams, for a pull request or a person."""
    out = [f"# Architecture of `{report.root}`", "", short_text(report).splitlines()[0], "",
           "## System", "", "```mermaid", report.diagrams.components.rstrip(), "```", "",
           "## Components", "", "| component | path | language | frameworks | ports | lines | tests | stores |",
           "|---|---|---|---|---|---|---|---|"]
    for c in report.components:
        out.append(f"| {c.name} | `{c.path or '-'}` | {c.language or '-'} | {', '.join(c.frameworks) or '-'} | "
                   f"{', '.join(map(str, c.ports)) or '-'} | {c.lines} | {c.test_files} | "
                   f"{', '.join(c.data_stores) or '-'} |")
    out += ["", "## Package graph", "", "```mermaid", report.diagrams.packages.rstrip(), "```", ""]
    if report.imports.cycles:
        out += ["Import cycles:", ""] + [f"- {' → '.join(c)}" for c in report.imports.cycles[:20]] + [""]
    if report.hotspots:
        out += ["## Complexity hotspots", "", "| complexity | function | where |", "|---|---|---|"]
        out += [f"| {h.complexity} | `{h.function}` | `{h.path}:{h.line}` |" for h in report.hotspots]
        out.append("")
    out += ["## Findings", ""]
    for f in report.findings:
        out += [f"### {f.severity.value.upper()}: {f.title}", f"`{f.location.path}:{f.location.start_line}` · "
                f"`{f.rule_id}`", "", f.message, "", f"**Fix:** {f.remediation.summary}", ""]
    if not report.findings:
        out.append("None.")
    if report.warnings:
        out += ["", "## Warnings", ""] + [f"- {w}" for w in report.warnings]
    return "\n".join(out) + "\n"

"""How a security report reads: a few lines beside the structured result, every finding for the CLI, Markdown."""

from __future__ import annotations

from devops_orchestra.models import SecurityReport, Severity
from devops_orchestra.render.common import TEXT_FINDINGS, scanner_table


def short_text(report: SecurityReport) -> str:
    """A few lines for the model and the person: counts, the worst findings, scanner trouble."""
    s = report.summary
    lines = [
        f"Security scan of {report.path}: {s.total} findings "
        f"(critical {s.critical}, high {s.high}, medium {s.medium}, low {s.low}, info {s.info}) "
        f"in {report.duration_s:.1f} s, {report.scope.files_scanned} files scanned.",
    ]
    for f in report.findings[:TEXT_FINDINGS]:
        loc = f.location
        lines.append(f"- [{f.severity.value}] {loc.path}:{loc.start_line} {f.title} ({f.rule_id})")
    if report.findings_returned < report.findings_total:
        where = f" Every finding: {report.full_report}." if report.full_report else ""
        lines.append(f"Returned the first {report.findings_returned} of {report.findings_total}.{where}")
    for run in report.scanners:
        if run.status in ("failed", "timeout", "unavailable"):
            lines.append(f"! {run.name} {run.status}: {run.error}")
    return "\n".join(lines)


def full_text(report: SecurityReport, detail_from: Severity = Severity.info) -> str:
    """Every finding with where, why and what to do: the CLI's text format.

    Findings below detail_from get one line each.
    """
    out = [short_text(report).splitlines()[0]]
    if report.truncated:
        shown = f"Showing {report.findings_returned} of {report.findings_total}"
        out.append(f"{shown}; every finding: {report.full_report}")
    out.append("")
    brief = False
    for f in report.findings:
        loc = f.location
        if f.severity.rank < detail_from.rank:
            brief = True
            out.append(f"[{f.severity.value}] {loc.path}:{loc.start_line}  {f.title} ({f.rule_id})")
            continue
        tags = ", ".join(x for x in (f.cwe, *f.sources) if x)
        out.append(f"[{f.severity.value.upper()}] {loc.path}:{loc.start_line}  {f.title}")
        out.append(f"    {f.rule_id}{f' ({tags})' if tags else ''}, confidence {f.confidence}")
        if loc.snippet:
            out.append(f"    > {loc.snippet.splitlines()[0].strip()[:160]}")
        out.append(f"    {f.message}")
        out.append(f"    Fix: {f.remediation.summary}")
        out.append("")
    if brief:
        out.append("")
    out.append("Scanners:")
    for run in report.scanners:
        detail = f"{run.findings} findings, {run.files} files, {run.duration_s:.1f} s" if run.status == "ok" \
            else run.error or ""
        out.append(f"  {run.name:<8} {run.version or '-':<8} {run.status:<11} {detail}")
        out += [f"           warning: {w}" for w in run.warnings]
    sc = report.scope
    if sc.skipped_by_reason:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(sc.skipped_by_reason.items()))
        out.append(f"Left out {sc.files_skipped} files: {reasons}.")
    if sc.test_files:
        out.append(
            f"Test code: {sc.test_files} files (e.g. {', '.join(sc.test_examples)}); {sc.test_findings_demoted} "
            "findings there ranked as info; asserts there are not checked."
        )
    return "\n".join(out)


def markdown(report: SecurityReport) -> str:
    """The whole report as Markdown, for a pull request or a person: worst first, every fix."""
    s = report.summary
    out = [
        f"# Security scan `{report.run_id}`",
        "",
        f"{s.total} findings in `{report.root}` ({report.scope.files_scanned} files, {report.duration_s:.1f} s).",
        "",
        "| critical | high | medium | low | info |",
        "|---|---|---|---|---|",
        f"| {s.critical} | {s.high} | {s.medium} | {s.low} | {s.info} |",
        "",
        "## Findings",
        "",
    ]
    for f in report.findings:
        loc = f.location
        tags = ", ".join(x for x in (f.cwe, f.owasp, *f.sources) if x)
        status = f" ({f.status})" if f.status else ""
        out.append(f"### {f.severity.value.upper()}: {f.title}{status}")
        out.append(f"`{loc.path}:{loc.start_line}` · `{f.rule_id}`{f' · {tags}' if tags else ''}")
        out.append("")
        if loc.snippet:
            out += ["```", loc.snippet, "```"]
        out += [f.message, "", f"**Fix:** {f.remediation.summary}", ""]
    out += ["## Scanners", "", *scanner_table(report.scanners)]
    if report.scope.skipped_by_reason:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(report.scope.skipped_by_reason.items()))
        out += ["", f"Left out: {reasons}."]
    return "\n".join(out) + "\n"

"""How a SQL report reads: a few lines beside the structured content, every finding for the CLI, and the
rule catalogue as Markdown."""

from __future__ import annotations

from devops_orchestra.analyzers.sql.catalog import RULES
from devops_orchestra.models import Finding, SqlReport
from devops_orchestra.render.common import TEXT_FINDINGS


def short_text(report: SqlReport) -> str:
    """A few lines beside the structured content: counts, the files by kind, the worst findings."""
    s = report.summary
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.files_by_kind.items()) if n) or "nothing with SQL"
    lines = [f"SQL analysis of {report.path}: {s.total} findings (critical {s.critical}, high {s.high}, "
             f"medium {s.medium}, low {s.low}, info {s.info}) in {report.duration_s:.1f} s; files: {kinds}.",
             *_scope_lines(report)]
    for f in report.findings[:TEXT_FINDINGS]:
        lines.append(f"- [{f.severity.value}] {f.location.path}:{f.location.start_line} {f.title} ({f.rule_id})")
    if report.findings_returned < report.findings_total:
        where = f" Every finding: {report.full_report}." if report.full_report else ""
        lines.append(f"Returned the first {report.findings_returned} of {report.findings_total}.{where}")
    lines += [f"! {r.name} {r.status}: {r.error}" for r in report.scanners if r.status in ("failed", "timeout")]
    return "\n".join(lines)


# From this many migrations a run over a whole history is said to be one, and the CLI groups its findings by file.
WHOLE_HISTORY = 20


def full_text(report: SqlReport) -> str:
    """Every finding with the statement, why, and the safe rewrite: the CLI's text format; a whole history's
    findings grouped by migration, worst migrations first."""
    out = [short_text(report).splitlines()[0], *_scope_lines(report), ""]
    by_file: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_file.setdefault(f.location.path if _whole_history(report) else "", []).append(f)
    for path, findings in by_file.items():  # in the order of each file's worst finding
        if path:
            out += [f"== {path}: {len(findings)} finding{'s' * (len(findings) != 1)}", ""]
        out += _finding_lines(findings)
    return "\n".join(out).rstrip() + "\n"


def _finding_lines(findings: list[Finding]) -> list[str]:
    out = []
    for f in findings:
        loc = f.location
        out.append(f"[{f.severity.value.upper()}] {loc.path}:{loc.start_line}  {f.title} ({f.rule_id})")
        if loc.snippet:
            out.append(f"    > {loc.snippet.splitlines()[0].strip()[:160]}")
        out.append(f"    {f.message}")
        out.append(f"    Safe pattern: {f.remediation.summary}")
        if f.remediation.fix:
            out += ["    Rewrite:"] + [f"      {line}" for line in f.remediation.fix.splitlines()]
        out.append("")
    return out


def _migrations(report: SqlReport) -> int:
    return sum(report.files_by_kind.get(kind, 0) for kind in ("sql", "alembic", "django"))


def _whole_history(report: SqlReport) -> bool:
    return report.scope.changed_only is None and _migrations(report) >= WHOLE_HISTORY


def _scope_lines(report: SqlReport) -> list[str]:
    """Which files the run covered when not all, and the Python it could not read (with a few examples)."""
    sc = report.scope
    lines = [f"Only {sc.changed_only}."] if sc.changed_only else []
    if _whole_history(report):
        lines.append(f"The whole history: {_migrations(report)} migration and SQL files, each judged as if it were "
                     "new, though most ran long ago. To judge a change, pass changed_since "
                     "(`--changed-since main`).")
    unread = {r: n for r, n in sc.skipped_by_reason.items() if r.startswith("not analysed")}
    if unread:
        examples = ", ".join(f"{e.path} ({e.reason.removeprefix('not analysed (').rstrip(')')})"
                             for e in sc.skipped_examples if e.reason in unread)
        n = sum(unread.values())
        lines.append(f"Python not analysed ({n} file{'s' * (n != 1)}, not findings): {examples}.")
    return lines


def rules_markdown() -> str:
    """Every rule: severity, why it matters, the safe pattern."""
    out = ["# SQL rules", "", "| rule | kind | severity | why | safe pattern |", "|---|---|---|---|---|"]
    for rule in RULES.values():
        why, safe = (text.replace("|", "\\|") for text in (rule.why, rule.safe))  # a bare | would end the cell
        out.append(f"| `sql:{rule.id}` | {rule.kind} | {rule.severity.value} | {why} | {safe} |")
    return "\n".join(out) + "\n"

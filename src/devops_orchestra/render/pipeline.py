"""A generation report as text: for the tool's short text and for the CLI."""

from __future__ import annotations

from devops_orchestra.models.pipeline import GeneratedArtifacts

LINT_LINES = 5  # per file in the text; the structured result has them all


def as_text(report: GeneratedArtifacts, contents: bool = False) -> str:
    """Counts, each file with its status and remaining lint results, what stays unmet and why.

    contents: also print each file (the CLI without --write)."""
    ok = "clean" if report.clean else "NOT clean"
    s = report.summary
    lines = [f"Generated {len(report.files)} files for {report.path} "
             f"({', '.join(c.name for c in report.components)}, settings {report.config}) in "
             f"{report.duration_s:.1f} s; validation {ok}: {s.total} lint results "
             f"(critical {s.critical}, high {s.high}, medium {s.medium}, low {s.low})."]
    for f in report.files:
        lines.append(f"- {f.path} [{f.status}]")
        lines += [f"    {line}" for line in f.lint[:LINT_LINES]]
        if len(f.lint) > LINT_LINES:
            lines.append(f"    ... {len(f.lint) - LINT_LINES} more in the structured result")
        if f.diff:
            lines += [f"    {d}" for d in f.diff.rstrip("\n").splitlines()]
    lines += [f"Unmet {u.rule_id} ({', '.join(u.paths)}): {u.reason}" for u in report.unsatisfied]
    lines += [f"! {r.name} {r.status}: {r.error}" for r in report.linters if r.status != "ok"]
    lines.append("Linters: " + ", ".join(f"{r.name} {r.version or '-'} {r.status} {r.duration_s:.1f} s"
                                         for r in report.linters))
    lines += [f"Note: {n}" for n in report.notes]
    moved = [f.path for f in report.files if f.content_uri]
    if moved:
        lines.append(f"Content of {len(moved)} files left out to fit the response; read each file's content_uri.")
    if contents:
        for f in report.files:
            if f.content is not None:
                lines += ["", f"===== {f.path} =====", f.content.rstrip("\n")]
    return "\n".join(lines)

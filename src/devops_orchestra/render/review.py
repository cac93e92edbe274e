"""How a review reads: its verdict, each agent's result and the worst findings, in a few lines."""

from __future__ import annotations

from devops_orchestra.models import ReviewReport


def short_text(report: ReviewReport, top: int = 8) -> str:
    """The verdict, each agent in a line, why, and the worst findings."""
    lines = [f"Review of {report.path}: {report.verdict.upper()}"
             + (f" ({report.changed_only})" if report.changed_only else "") + f", {report.duration_s:.1f} s."]
    lines += [f"- {p.agent}: {'runs' if p.run else 'skipped'}, {p.why}" for p in report.plan
              if report.verdict == "plan only" or not p.run]
    lines += [f"- {r.agent}: {r.summary} ({r.duration_s:.1f} s)" + (f" {r.error}" if r.error else "")
              for r in report.agents]
    lines += [f"  because {reason}" for reason in report.verdict_reasons[:6]]
    for f in report.findings[:top]:
        lines.append(f"  [{f.severity.value}] {f.location.path}:{f.location.start_line} {f.title} ({f.rule_id})")
    if report.findings_total > top:
        lines.append(f"  ... {report.findings_total - top} more findings" +
                     (f": {report.full_report}" if report.full_report else ""))
    return "\n".join(lines)

"""DORA metrics as text: one sentence for a tool result, a table for a shell."""

from __future__ import annotations

from devops_orchestra.models import DoraReport


def _heading(report: DoraReport) -> str:
    quiet = f"; {report.inactive}" if report.inactive else ""  # no ": ", callers split the heading off there
    return (f"DORA metrics of {report.path} over {report.days} days, {report.deployments_total} deployments "
            f"({report.deployment_source}){quiet}")


def short_text(report: DoraReport) -> str:
    """The four metrics and their bands in one sentence, after a heading that ends in a colon."""
    parts = [f"{m.name.replace('_', ' ')} {'-' if m.value is None else f'{m.value:g}'} {m.unit}"
             + (f" ({m.band})" if m.band else "") for m in report.metrics]
    return _heading(report) + ": " + "; ".join(parts) + "."


def full_text(report: DoraReport) -> str:
    """The heading, then one row per metric: its value, band and how it was derived."""
    lines = [_heading(report) + ":"]
    for m in report.metrics:
        value = "-" if m.value is None else f"{m.value:g} {m.unit}"
        lines.append(f"  {m.name.replace('_', ' '):<24} {value:<24} {m.band or '':<7} {m.derived}")
    return "\n".join(lines)

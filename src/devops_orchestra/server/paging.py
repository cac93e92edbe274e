"""A report cut to what a client takes in one tool result: its first findings, within the size budget."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from devops_orchestra.models import AgentReport

R = TypeVar("R", bound=AgentReport)

# Claude Code saves a tool result over 50,000 characters to a file and shows the model only its path.
# The structured content plus the text block must stay under that; keep a margin for the envelope.
RESPONSE_BUDGET_CHARS = 46_000


def page(report: R, max_findings: int, full_report_uri: str | None, text: Callable[[R], str]) -> R:
    """The report cut to the first max_findings findings and to the size budget; totals stay complete.

    text: the short text that goes beside the structured content (its size counts too).
    """
    cut = report.model_copy(update={"findings": [], "full_report": full_report_uri})
    used = len(cut.model_dump_json(exclude_none=True)) + len(text(report)) + 200
    kept = []
    for finding in report.findings[:max_findings]:
        size = len(finding.model_dump_json(exclude_none=True)) + 1
        if used + size > RESPONSE_BUDGET_CHARS:
            break
        kept.append(finding)
        used += size
    return cut.model_copy(update={
        "findings": kept,
        "findings_returned": len(kept),
        "truncated": len(kept) < len(report.findings),
    })

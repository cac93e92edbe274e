"""A report cut to what a client takes in one tool result: its first findings, within the size budget."""

from __future__ import annotations

from collections.abc import Callable
from itertools import accumulate
from typing import TypeVar

from devops_orchestra.models import AgentReport, Finding, Severity, SeveritySummary

R = TypeVar("R", bound=AgentReport)

# Claude Code saves a tool result over 50,000 characters to a file and shows the model only its path.
# The structured content plus the text block must stay under that; keep a margin for the envelope.
RESPONSE_BUDGET_CHARS = 46_000


# From this many findings of one scanner on one resource, the answer carries them as one entry: a Deployment
# missing 20 hardening settings is one problem to look at, and 20 entries would push the rest out of the answer.
FOLD_AT = 3
WORST_NAMED = 3
# When not every entry fits in full, the entries that do not are named in a line each, so that the answer names
# every problem rather than detailing the first 40; those lines take at most this share of the budget.
LINES_SHARE = 0.3


def page(report: R, max_findings: int, full_report_uri: str | None, text: Callable[[R], str]) -> R:
    """The report cut to the first max_findings entries and to the size budget, the entries past those given
    in full named in a line each within the budget; totals stay complete.

    text: the short text that goes beside the structured content (its size counts too).
    """
    cut = report.model_copy(update={"findings": [], "full_report": full_report_uri})
    used = len(cut.model_dump_json(exclude_none=True)) + len(text(report)) + 200
    entries = fold(report.findings)[:max_findings]
    lines = [_line(f) for f in entries]
    # after[i]: what naming entries i.. in a line each takes, up to the lines' share
    after = list(accumulate((len(line) + 3 for line in reversed(lines)), initial=0))[::-1]
    kept: list[Finding] = []
    for i, finding in enumerate(entries):
        size = len(finding.model_dump_json(exclude_none=True)) + 1
        if used + size + min(after[i + 1], RESPONSE_BUDGET_CHARS * LINES_SHARE) > RESPONSE_BUDGET_CHARS:
            break
        kept.append(finding)
        used += size
    more = []
    for line in lines[len(kept):]:
        used += len(line) + 3
        if used > RESPONSE_BUDGET_CHARS:
            break
        more.append(line)
    shown = sum(1 + len(f.folded or ()) for f in kept)
    return cut.model_copy(update={
        "findings": kept,
        "findings_returned": len(kept),
        "truncated": shown < len(report.findings),
        "more": more or None,
    })


def _line(f: Finding) -> str:
    """A finding in a line: enough to know what and where, and its id to ask about it."""
    also = f" (+{len(f.folded)} more checks)" if f.folded else ""
    return f"{f.severity.value} {f.rule_id} {f.location.path}:{f.location.start_line} {f.title}{also} [{f.id}]"


def fold(findings: list[Finding]) -> list[Finding]:
    """Findings (worst first) with each resource that fails FOLD_AT or more checks of one scanner as one entry,
    at its worst finding's place."""
    groups: dict[tuple[str, str, str, str], list[Finding]] = {}
    for f in findings:
        if f.resource:
            groups.setdefault(_group(f), []).append(f)
    entries = []
    for f in findings:
        members = groups.get(_group(f)) if f.resource else None
        if members is None or len(members) < FOLD_AT:
            entries.append(f)
        elif members[0] is f:
            entries.append(_folded(members))
    return entries


def _group(f: Finding) -> tuple[str, str, str, str]:
    """What a folded entry shares: scanner, file, resource, and category (a secret stays an entry of its own)."""
    return f.scanner, f.location.path, f.resource or "", f.category


def _folded(members: list[Finding]) -> Finding:
    """One entry for a resource's findings: the worst one's place and fix, naming the count and the worst."""
    worst = members[0]
    counts = SeveritySummary.of(members)
    by_severity = ", ".join(f"{n} {s.value}" for s in Severity if (n := getattr(counts, s.value)))
    named = "; ".join(f"{f.title} ({f.rule_id.partition(':')[2]}, line {f.location.start_line})"
                      for f in members[:WORST_NAMED])
    return worst.model_copy(update={
        "title": f"{worst.resource} fails {len(members)} {worst.scanner} checks",
        "message": f"{worst.resource} fails {len(members)} {worst.scanner} checks ({by_severity}). The worst: "
                   f"{named}. full_report has each with its fix.",
        "folded": [f.rule_id for f in members[1:]],
    })

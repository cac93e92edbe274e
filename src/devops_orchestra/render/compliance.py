"""How a compliance report reads: a short text beside the structured result, the CLI's text, Markdown."""

from __future__ import annotations

from devops_orchestra.models import ComplianceReport, ControlResult, Evidence
from devops_orchestra.render.common import scanner_table

_MARK = {"pass": "PASS", "fail": "FAIL", "not_assessable": "N/A "}


def short_text(report: ComplianceReport, failing_shown: int = 12) -> str:
    """A few lines beside the structured result: the gate, each framework's score, the failing controls."""
    gate = report.gate
    lines = [f"Compliance check of {report.path}: gate {gate.status.upper()}"
             + (f" ({'; '.join(gate.reasons)})" if gate.reasons else "") + f", {report.duration_s:.1f} s."]
    for fw in report.frameworks:
        score = f"{fw.score:g}%" if fw.score is not None else "no score"
        lines.append(f"- {fw.name} ({fw.framework}): {score}; {fw.passed} pass, {fw.failed} fail, "
                     f"{fw.not_assessable} not assessable")
    failing = [(fw.framework, c) for fw in report.frameworks for c in fw.controls if c.status == "fail"]
    for framework, c in failing[:failing_shown]:
        lines.append(f"  FAIL {framework} {c.id} {c.title}: {c.why}")
    if len(failing) > failing_shown:
        lines.append(f"  ... and {len(failing) - failing_shown} more failing controls.")
    for run in report.scanners:
        if run.status in ("failed", "timeout", "unavailable"):
            lines.append(f"! {run.name} {run.status}: {run.error}")
    return "\n".join(lines)


def full_text(report: ComplianceReport) -> str:
    """Every control with its status, why, evidence and what to do: the CLI's text format."""
    out = [short_text(report, failing_shown=0).splitlines()[0], ""]
    for fw in report.frameworks:
        score = f"{fw.score:g}%" if fw.score is not None else "no score"
        out.append(f"{fw.name} {fw.version or ''} ({fw.framework}): {score}")
        for c in fw.controls:
            out.append(f"  {_MARK[c.status]} {c.id}  {c.title}")
            out.append(f"       {c.why}")
            out += [f"       - {_where(e)}" for e in c.evidence]
            if c.evidence_total > len(c.evidence):
                out.append(f"       - ... {c.evidence_total - len(c.evidence)} more")
            if c.remediation:
                out.append(f"       Fix: {c.remediation}")
            if c.manual_evidence and c.status != "pass":
                out.append(f"       Supply: {c.manual_evidence}")
        out.append("")
    out += [f"warning: {w}" for w in report.warnings]
    return "\n".join(out)


def markdown(report: ComplianceReport) -> str:
    """The whole check as Markdown: per framework every control, then what a person must supply."""
    gate = report.gate
    out = [f"# Compliance check `{report.run_id}`", "",
           f"`{report.root}`, {report.duration_s:.1f} s. Gate: **{gate.status}**"
           + (f" ({', '.join(gate.gates)})" if gate.gates else "") + ".", ""]
    out += [f"- {r}" for r in gate.reasons]
    for fw in report.frameworks:
        score = f"{fw.score:g}%" if fw.score is not None else "no score"
        out += ["", f"## {fw.name} {fw.version or ''}: {score}", "",
                f"{fw.passed} pass, {fw.failed} fail, {fw.not_assessable} not assessable.", "",
                "| control | status | why | evidence |", "|---|---|---|---|"]
        out += [_row(c) for c in fw.controls]
        failing = [c for c in fw.controls if c.status == "fail"]
        if failing:
            out += ["", "### What to do", ""] + [f"- **{c.id}** {c.remediation}" for c in failing]
        manual = [c for c in fw.controls if c.manual_evidence and c.status != "pass"]
        if manual:
            out += ["", "### Evidence a person must supply", ""]
            out += [f"- **{c.id}** {c.manual_evidence}" for c in manual]
    if report.policy_files:
        out += ["", "Organisation policies: " + ", ".join(f"`{p}`" for p in report.policy_files) + "."]
    out += ["", "## Scanners", "", *scanner_table(report.scanners)]
    return "\n".join(out) + "\n"


def _row(c: ControlResult) -> str:
    evidence = "<br>".join(f"`{_where(e)}`" for e in c.evidence)
    if c.evidence_total > len(c.evidence):
        evidence += f"<br>... {c.evidence_total - len(c.evidence)} more"
    cells = [f"{c.id} {c.title}", c.status.replace("_", " "), c.why, evidence]
    return "| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |"


def _where(e: Evidence) -> str:
    place = f"{e.path}:{e.line}" if e.line else e.path
    return f"{place} {e.note}" if e.note else place

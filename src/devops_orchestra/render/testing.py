"""The testing agent's reports as text: how the tests ran, then the riskiest gaps, then the gate's findings."""

from __future__ import annotations

from devops_orchestra.models.testing import Gap, GeneratedTests, SuiteResult, TestGapsReport
from devops_orchestra.render.common import TEXT_FINDINGS


def suite_line(tests: SuiteResult) -> str:
    """One line: the outcome, counts, coverage, and why when it did not pass."""
    if tests.outcome == "could not run":
        return f"Tests could not run: {tests.reason}"
    counts = f"{tests.passed} passed, {tests.failed} failed, {tests.skipped} skipped"
    cover = f"; coverage {tests.coverage:g}% ({tests.coverage_tool})" if tests.coverage is not None else ""
    why = f" - {tests.reason}" if tests.outcome == "failed" and tests.reason else ""
    return f"Tests {tests.outcome} ({tests.command}, {tests.duration_s:g} s): {counts}{cover}{why}"


def gap_line(gap: Gap) -> str:
    reasons = [f"{gap.changed_lines} changed lines uncovered"] if gap.changed_lines else []
    reasons += [f"findings {', '.join(gap.findings)}"] if gap.findings else []
    reasons += [f"complexity {gap.complexity}"] if gap.complexity > 1 else []
    reasons += [f"{gap.callers} callers"] if gap.callers else []
    lines = _ranges(gap.missing_lines)
    return (f"  {gap.path}:{gap.start_line}-{gap.end_line} {gap.function} ({gap.covered_percent:g}% covered; "
            f"never run: {lines}){': ' + ', '.join(reasons) if reasons else ''}")


def short_text(report: TestGapsReport, limit: int = TEXT_FINDINGS) -> str:
    out = [suite_line(report.tests)]
    if report.changed_coverage is not None:
        out.append(f"The tests run {report.changed_coverage:g}% of the lines changed since {report.changed_since}.")
    if report.gaps:
        out.append(f"{report.gaps_total} functions not fully tested, riskiest first:")
        out += [gap_line(g) for g in report.gaps[:limit]]
        if report.gaps_total > limit:
            out.append(f"  ... and {report.gaps_total - limit} more")
    elif report.tests.coverage is not None:
        out.append("Every function's statements run under the tests.")
    if report.findings:
        out.append(f"Code checks: {len(report.findings)} findings")
        out += [f"  [{f.severity.value}] {f.location.path}:{f.location.start_line} {f.title} ({f.rule_id})"
                for f in report.findings[:limit]]
    out += [f"Note: {n}" for n in report.notes]
    if report.tests.failing:
        out.append("Failing: " + ", ".join(report.tests.failing[:10]))
    return "\n".join(out)


def full_text(report: TestGapsReport) -> str:
    text = short_text(report, limit=len(report.gaps) + len(report.findings))
    if report.tests.outcome != "passed" and report.tests.output_tail:
        text += "\n\nThe end of the test command's output:\n" + report.tests.output_tail
    return text


def generated_text(result: GeneratedTests) -> str:
    before = "?" if result.coverage_before is None else f"{result.coverage_before:g}%"
    after = "?" if result.coverage_after is None else f"{result.coverage_after:g}%"
    out = [f"{len(result.tests)} generated tests kept (they pass and add coverage): coverage {before} -> {after}"]
    for test in result.tests:
        where = "written to" if test.written else "for"
        out.append(f"  {test.target}: +{test.lines_added} lines ({test.source}), {where} {test.file}")
    out += [f"  dropped: {d}" for d in result.dropped[:10]]
    return "\n".join(out)


def _ranges(lines: list[int]) -> str:
    """[3, 4, 5, 9] -> '3-5, 9'."""
    parts: list[str] = []
    start = prev = None
    for n in [*lines, None]:
        if start is not None and (n is None or prev is None or n != prev + 1):
            parts.append(f"{start}-{prev}" if prev != start else f"{start}")
            start = None
        if n is not None and start is None:
            start = n
        prev = n
    return ", ".join(parts[:6]) + (" ..." if len(parts) > 6 else "")

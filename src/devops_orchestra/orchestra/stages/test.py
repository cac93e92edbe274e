"""test: the repository's own tests, in an isolated copy with a timeout and coverage, and its code checks
(deptry, ruff, ESLint): the testing agent's test_gaps, without its security look (the analysis did that).
Publishes pass/fail, counts, coverage overall and on the lines changed since the ref's previously analysed
commit, and what the checks found that breaks at run time. A repository without tests goes on and says so;
the gates `tests`, `changed_coverage` and `code_checks` decide what stops the run."""

from __future__ import annotations

import json

from devops_orchestra.agents.testing.gaps import recorded_test_gaps
from devops_orchestra.core.errors import PathError
from devops_orchestra.models.events import Envelope, Payload, TestResults
from devops_orchestra.models.testing import TestGapsReport, TestGapsRequest
from devops_orchestra.orchestra.stages.analysis import ANALYSED
from devops_orchestra.orchestra.stages.base import Stage, StageContext, fork_code_refused


class Test(Stage):
    name = "test"
    consumes = "plan_ready"
    publishes = "test_results"

    async def handle(self, event: Envelope, context: StageContext) -> Payload:
        refused = fork_code_refused(context)
        if refused:
            return TestResults(outcome="could not run", reason=refused)
        since = await changed_since(event, context)
        try:
            report = await self._run(context, event.repo, since)
        except PathError:  # the analysed commit is gone (a force push): the whole repository
            report = await self._run(context, event.repo, None)
        tests = report.tests
        return TestResults(outcome=tests.outcome, passed=tests.passed, failed=tests.failed, skipped=tests.skipped,
                           failing=tests.failing, coverage=tests.coverage, command=tests.command,
                           reason=tests.reason, changed_coverage=report.changed_coverage, gaps=report.gaps_total,
                           problems=[f"{f.location.path}:{f.location.start_line} {f.rule_id}: {f.message}"
                                     for f in report.findings if f.severity.rank >= 3 and f.confidence == "high"],
                           report_run_id=report.run_id)

    @staticmethod
    async def _run(context: StageContext, repo: str, since: str | None) -> TestGapsReport:
        return await recorded_test_gaps(context.store, TestGapsRequest(
            target=context.checkout, display_path=repo, changed_since=since, security=False), config=context.config)

    def summary(self, payload: Payload) -> str:
        assert isinstance(payload, TestResults)
        if payload.outcome == "could not run":
            problems = f"; {len(payload.problems)} run-time errors found by the code checks" if payload.problems else ""
            return f"tests could not run: {payload.reason}; going on without them{problems}"
        counts = f"{payload.passed} passed" + (f", {payload.failed} failed" if payload.failed else "") + (
            f", {payload.skipped} skipped" if payload.skipped else "")
        cover = f"; coverage {payload.coverage:g}%" if payload.coverage is not None else ""
        cover += f", {payload.changed_coverage:g}% of changed lines" if payload.changed_coverage is not None else ""
        gaps = f"; {payload.gaps} functions not fully tested" if payload.gaps else ""
        failing = f" ({payload.reason})" if payload.outcome == "failed" and payload.reason else ""
        problems = f"; {len(payload.problems)} run-time errors found by the code checks" if payload.problems else ""
        return f"tests {payload.outcome}: {counts}{cover}{gaps}{failing}{problems}"


async def changed_since(event: Envelope, context: StageContext) -> str | None:
    """The commit the analysis compared this one with (it remembers it under its key when the verdict was good);
    None: the whole repository."""
    remembered = json.loads(await context.state.get(f"{ANALYSED}{event.repo}@{event.ref}") or "{}")
    before = remembered.get("before") if remembered.get("sha") == event.sha else None
    return before if isinstance(before, str) else None


STAGE = Test()

"""analysis: the review agent on what changed since the ref's previously analysed commit (the whole repository
the first time; a commit whose verdict was bad is no baseline, so its findings are looked at again); its
verdict and counts are published as `code_analysis_result`, the full report stays in the run store."""

from __future__ import annotations

import json

from devops_orchestra.agents.review import recorded_review
from devops_orchestra.core.cache import ScanCache
from devops_orchestra.core.errors import PathError
from devops_orchestra.models import ReviewReport
from devops_orchestra.models.events import CodeAnalysisResult, Envelope, Payload
from devops_orchestra.models.requests import ReviewRequest
from devops_orchestra.orchestra.gates import BAD_VERDICTS
from devops_orchestra.orchestra.retention import retention
from devops_orchestra.orchestra.stages.base import Stage, StageContext

# + repo@ref -> {"sha": the last commit analysed without a bad verdict, "before": the one before it}
ANALYSED = "analysed:"


class Analysis(Stage):
    name = "analysis"
    consumes = "code_push"
    publishes = "code_analysis_result"

    async def handle(self, event: Envelope, context: StageContext) -> Payload:
        key = f"{ANALYSED}{event.repo}@{event.ref}"
        remembered = json.loads(await context.state.get(key) or "{}")
        # A redelivery of the commit analysed last compares with the one before it, as the first delivery did.
        since = remembered.get("before") if remembered.get("sha") == event.sha else remembered.get("sha")
        try:
            report = await self._review(context, event.repo, since)
        except PathError:  # the previous commit is gone (a force push): the whole repository, as a first run
            since = None
            report = await self._review(context, event.repo, None)
        if report.verdict not in BAD_VERDICTS:  # what needs changes stays in the next change's scope
            # kept as long as runs: a ref silent for longer (a deleted branch) is forgotten
            await context.state.put(key, json.dumps({"sha": event.sha, "before": since}), ttl_s=retention().runs_s)
        return CodeAnalysisResult(
            verdict=report.verdict, reasons=report.verdict_reasons, findings=report.findings_total,
            by_severity={k: v for k, v in report.summary.model_dump().items() if k != "total" and v},
            report_run_id=report.run_id, changed_since=since)

    @staticmethod
    async def _review(context: StageContext, repo: str, since: str | None) -> ReviewReport:
        return await recorded_review(context.store, ReviewRequest(
            target=context.checkout, display_path=repo, changed_since=since), cache=ScanCache())

    def summary(self, payload: Payload) -> str:
        assert isinstance(payload, CodeAnalysisResult)
        scope = f"changes since {payload.changed_since[:12]}" if payload.changed_since else "whole repository"
        counts = ", ".join(f"{n} {s}" for s, n in payload.by_severity.items())
        return f"{payload.verdict}: {payload.findings} findings{f' ({counts})' if counts else ''} in {scope}"


STAGE = Analysis()

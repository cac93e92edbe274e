"""plan: after an analysis the gates let through, the pipeline agent proposes the Dockerfile, CI workflow and
IaC the repository lacks; it writes them only when orchestra.plan_writes says so."""

from __future__ import annotations

from devops_orchestra.agents.pipeline import recorded_generate
from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.models.events import Envelope, Payload, PlanReady
from devops_orchestra.models.requests import PipelineRequest
from devops_orchestra.orchestra.stages.base import Stage, StageContext


class Plan(Stage):
    name = "plan"
    consumes = "code_analysis_result"
    publishes = "plan_ready"

    async def handle(self, event: Envelope, context: StageContext) -> Payload:
        write = context.config.orchestra.plan_writes
        try:
            report = await recorded_generate(context.store, PipelineRequest(
                target=context.checkout, display_path=event.repo, write=write))
        except OrchestraError as exc:
            if "No application found" in str(exc):  # nothing to build: nothing is missing
                return PlanReady()
            raise
        missing = [f.path for f in report.files if f.status == "written"
                   or (f.status == "not-written" and not (context.checkout / f.path).exists())]
        return PlanReady(proposed=missing, written=[f.path for f in report.files if f.status == "written"],
                         report_run_id=report.run_id)

    def summary(self, payload: Payload) -> str:
        assert isinstance(payload, PlanReady)
        if not payload.proposed:
            return "nothing missing"
        written = f"; wrote {len(payload.written)}" if payload.written else " (nothing written)"
        return f"proposes {len(payload.proposed)} files: {', '.join(payload.proposed[:6])}{written}"


STAGE = Plan()

"""What a pipeline run has to say, read from the orchestra's shared state: a stage's result (the payload the
worker kept under its effect key), the verdict, and the lines a person reads in a check run, a PR comment or
Slack."""

from __future__ import annotations

from pydantic import TypeAdapter

from devops_orchestra.models.events import CodeAnalysisResult, Payload
from devops_orchestra.models.orchestra import PipelineRun, StageRecord
from devops_orchestra.orchestra.bus.base import Bus

PAYLOAD: TypeAdapter[Payload] = TypeAdapter(Payload)
RUN_ICON = {"succeeded": "✅", "failed": "❌", "stopped by gate": "⛔", "superseded": "⏭️", "running": "⏳",
            "queued": "🕒"}


async def stage_result(state: Bus, run: PipelineRun, stage: str) -> Payload | None:
    """The stage's kept result for this commit (the worker's effect key `effect:REPO:SHA:STAGE:CONFIG_HASH`)."""
    for key in await state.keys(f"effect:{run.repo}:{run.sha}:{stage}:"):
        text = await state.get(key)
        if text is not None:
            return PAYLOAD.validate_json(text)
    return None


async def analysis(state: Bus, run: PipelineRun) -> CodeAnalysisResult | None:
    found = await stage_result(state, run, "analysis") if any(s.name == "analysis" for s in run.stages) else None
    return found if isinstance(found, CodeAnalysisResult) else None


def verdict(run: PipelineRun, result: CodeAnalysisResult | None) -> str:
    """The one phrase for the run: the analysis verdict when there is one, else how the run ended."""
    if result is not None:
        return result.verdict
    return {"succeeded": "passed", "stopped by gate": "blocked by gate"}.get(run.state, run.state)


def stage_line(s: StageRecord) -> str:
    took = f" in {(s.finished_at - s.started_at).total_seconds():.0f} s" if s.started_at and s.finished_at else ""
    retried = f", attempt {s.attempts}" if s.attempts > 1 else ""
    return f"{s.name}: {s.state}{took}{retried}" + (f" — {s.summary}" if s.summary else "") + (
        f" ({s.error})" if s.error else "")


def analysis_summary(result: CodeAnalysisResult) -> str:
    counts = ", ".join(f"{n} {sev}" for sev, n in result.by_severity.items()) or "none"
    reasons = "".join(f"\n- {r}" for r in result.reasons[:10])
    scope = f"changes since `{result.changed_since[:12]}`" if result.changed_since else "the whole repository"
    return f"**{result.verdict}** — {result.findings} findings ({counts}) in {scope}.{reasons}"

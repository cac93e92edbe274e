"""A pipeline run of the orchestra: one per (repository, sha, stages), with each stage's state and outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from devops_orchestra.models.base import Model

RunState = Literal["queued", "running", "succeeded", "failed", "stopped by gate", "superseded"]
StageState = Literal["waiting", "running", "succeeded", "failed", "not reached"]
FINISHED: tuple[RunState, ...] = ("succeeded", "failed", "stopped by gate", "superseded")


def now() -> datetime:
    return datetime.now(UTC)


# One stage of a run: how often it was tried, when, and what it found in one line.
class StageRecord(Model):
    name: str
    state: StageState = "waiting"
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    summary: str = ""
    report_run_id: str | None = Field(default=None, description="The agent's full report in the run store.")
    worker: str | None = Field(default=None, description="The consumer that last ran it.")
    error: str | None = None


# The gate that stopped a run, and why.
class GateStop(Model):
    gate: str
    reason: str


# The pipeline of one commit: where it came from, how far it got, and why it ended as it did.
class PipelineRun(Model):
    run_id: str
    repo: str
    ref: str
    sha: str
    source: str = Field(description="The local path or clone URL the repository is read from.")
    dirty: bool = Field(default=False, description="A local working tree with uncommitted changes.")
    from_fork: bool = Field(default=False, description="A pull request from a fork: never deployed.")
    state: RunState = "queued"
    stages: list[StageRecord]
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    gate: GateStop | None = None
    superseded_by: str | None = Field(default=None, description="The sha of the newer push that replaced this run.")
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def stage(self, name: str) -> StageRecord:
        return next(s for s in self.stages if s.name == name)


# What `runs` and pipeline_status list.
class PipelineRuns(Model):
    runs: list[PipelineRun]  # the newest first
    limit: int  # at most this many were asked for


# A deploy waiting for a person's approval (an environment configured so); ChatOps shows it with buttons.
class ApprovalRequest(Model):
    id: str = Field(description="Unique per (run, environment): the key the decision is stored under.")
    repo: str
    ref: str
    sha: str
    run_id: str
    service: str
    environment: str
    requested_at: datetime = Field(default_factory=now)


# A person's answer to an approval request; the first answer stands.
class ApprovalDecision(Model):
    approved: bool
    by: str = Field(description="Who answered, as the chat platform names them.")
    at: datetime = Field(default_factory=now)

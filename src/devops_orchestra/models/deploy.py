"""A deployment: its plan (what changes, where, how, which gates passed) and its record (how it ended, and why)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from devops_orchestra.models.base import Model

Strategy = Literal["rolling", "blue-green", "canary"]
DeployState = Literal["planned", "running", "succeeded", "rolled_back", "failed"]
FINAL_STATES: tuple[DeployState, ...] = ("succeeded", "rolled_back", "failed")
SloName = Literal["success_rate", "p99_latency_ms", "cpu_percent"]


# One step of a rollout: the share of traffic on the new version, then how long to watch it.
class Step(Model):
    weight: int = Field(ge=0, le=100, description="Percent of requests sent to the new version.")
    pause_s: float = Field(default=0, ge=0, description="Watch this long at this weight before the next step.")


# An objective the new version must keep while it is watched (Argo Rollouts' analysis, Flagger's metrics).
class Slo(Model):
    name: SloName
    threshold: float = Field(description="success_rate: at least this percent; the others: at most this.")

    def breached_by(self, measured: float) -> bool:
        return measured < self.threshold if self.name == "success_rate" else measured > self.threshold

    def describe(self, measured: float) -> str:
        unit = {"success_rate": "%", "p99_latency_ms": " ms", "cpu_percent": "% CPU"}[self.name]
        bound = "at least" if self.name == "success_rate" else "at most"
        return f"{self.name} {measured:.4g}{unit} (must be {bound} {self.threshold:g}{unit})"


# A check a deploy passed or failed before it started (review verdict, compliance, branch, approval).
class Gate(Model):
    name: str
    passed: bool
    detail: str = ""


# What a deploy will do; shown before it starts, and carried by its record.
class DeployPlan(Model):
    deployment_id: str
    service: str
    environment: str
    target: Literal["local", "kubernetes"]
    ref: str
    sha: str
    source: str = Field(description="The repository the release is made from (a local path).")
    strategy: Strategy
    steps: list[Step]
    slos: list[Slo]
    interval_s: float = Field(description="How often the SLOs are measured.")
    failure_limit: int = Field(description="Breached measurements tolerated; one more rolls back.")
    stable_sha: str | None = Field(default=None, description="The version serving now, None on a first deploy.")
    production: bool = False
    gates: list[Gate] = Field(default_factory=list)
    started_by: str = Field(description="Who or what asked: a user, the pipeline run, an MCP client.")
    rollback: bool = Field(default=False, description="Puts an earlier version back (the rollback command).")
    changes: list[str] = Field(default_factory=list, description="What will change, one line each.")


# A breached SLO: which, what was measured and the limit.
class Breach(Model):
    slo: SloName
    measured: float
    threshold: float
    message: str


# One measurement of the new version during a rollout.
class Measurement(Model):
    at: datetime
    weight: int
    values: dict[SloName, float] = Field(description="SLO name -> measured value (absent: no data yet).")
    breached: list[SloName] = Field(default_factory=list)


# A deployment as the run store keeps it: the audit trail, and what DORA counts.
class DeploymentRecord(Model):
    plan: DeployPlan
    state: DeployState = "planned"
    started_at: datetime
    finished_at: datetime | None = None
    breach: Breach | None = None
    reason: str = Field(default="", description="Why it ended as it did, for a person.")
    measurements: list[Measurement] = Field(default_factory=list)
    timeline: list[str] = Field(default_factory=list, description="What happened, one line each, in order.")
    restored_at: datetime | None = Field(default=None, description="When a rollback had all traffic on stable.")

    @property
    def deployment_id(self) -> str:
        return self.plan.deployment_id


# What `rollouts` lists.
class Rollouts(Model):
    deployments: list[DeploymentRecord]  # the newest first


# What the deploy tool answers: its plan, and whether it started or waits for a confirmation.
class DeployAnswer(Model):
    status: Literal["needs confirmation", "started", "not confirmed"]
    plan: DeployPlan
    confirmation_token: str | None = Field(default=None, description="Pass it back as `confirmation` to deploy "
                                           "this plan; single use, valid 15 minutes.")
    message: str

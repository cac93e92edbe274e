"""The orchestra's events: one versioned envelope around a typed payload per event of the design.

`code_push` -> analysis -> `code_analysis_result` -> plan -> `plan_ready` -> test -> `test_results` -> build
-> `build_ready` -> IaC -> `iac_ready` -> deploy -> `deployment_triggered` | `deployment_failed` -> observe
-> `observability_alert` | `rollback_event`; every run ends with one `run_finished`. A payload's `type` names
its event, so a consumer can trust `envelope.payload` to be the class its topic promises.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from devops_orchestra.models.base import Model
from devops_orchestra.models.review import ReviewVerdict

EVENT_VERSION: Literal[1] = 1


def new_id() -> str:
    return uuid.uuid4().hex


# A push (or pull request head) to run the pipeline for.
class CodePush(Model):
    type: Literal["code_push"] = "code_push"
    source: str = Field(description="Where the repository is fetched from: a local path or a clone URL.")
    before: str | None = Field(default=None, description="The previous sha of the ref, if known.")
    stages: list[str] | None = Field(default=None, description="Only these stages; all when absent.")
    pusher: str | None = None
    from_fork: bool = Field(default=False, description="A pull request from a fork: its code is analysed "
                            "without secrets and never deployed.")


# The analysis stage's result: the review's verdict on the change.
class CodeAnalysisResult(Model):
    type: Literal["code_analysis_result"] = "code_analysis_result"
    verdict: ReviewVerdict
    reasons: list[str] = Field(default_factory=list)
    findings: int
    by_severity: dict[str, int] = Field(default_factory=dict)
    report_run_id: str | None = Field(default=None, description="The review's run in the run store.")
    changed_since: str | None = Field(default=None, description="The sha the analysed change starts from.")


# The plan stage's result: what the pipeline agent proposes that the repository lacks.
class PlanReady(Model):
    type: Literal["plan_ready"] = "plan_ready"
    proposed: list[str] = Field(default_factory=list, description="Files proposed (Dockerfile, CI workflow, IaC).")
    written: list[str] = Field(default_factory=list, description="Files written, when configured to write.")
    report_run_id: str | None = None


# The test stage's result.
class TestResults(Model):
    __test__ = False  # not a pytest class
    type: Literal["test_results"] = "test_results"
    outcome: Literal["passed", "failed", "could not run"]
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failing: list[str] = Field(default_factory=list)
    coverage: float | None = None
    command: str | None = None
    reason: str | None = Field(default=None, description="Why the tests failed or could not run.")
    changed_coverage: float | None = Field(default=None, description="Percent of the changed statements run.")
    gaps: int = Field(default=0, description="Functions the tests leave partly or wholly unrun.")
    problems: list[str] = Field(default_factory=list, description="What the code checks found that breaks at run "
                                "time (a missing module, an undefined name): 'path:line rule: message'.")
    report_run_id: str | None = Field(default=None, description="The testing agent's run in the run store.")


# The build stage's artifact.
class BuildReady(Model):
    type: Literal["build_ready"] = "build_ready"
    artifact: str = Field(description="An image reference or a release directory.")
    digest: str | None = None
    release: str | None = Field(default=None, description="The release directory, also when an image was built.")
    kind: Literal["release", "image"] = Field(default="release", description="A release directory (the checkout "
                                              "with what the build made in it) or a container image.")
    built: list[str] = Field(default_factory=list, description="What the build made, e.g. '.venv', 'dist/x.whl'.")
    notes: list[str] = Field(default_factory=list, description="What was not built and why, where to look.")


# Infrastructure as code generated or validated for the target.
class IacReady(Model):
    type: Literal["iac_ready"] = "iac_ready"
    files: list[str] = Field(default_factory=list)
    summary: str = ""


# A deployment started.
class DeploymentTriggered(Model):
    type: Literal["deployment_triggered"] = "deployment_triggered"
    deployment_id: str
    service: str
    environment: str
    strategy: str
    state: Literal["succeeded", "rolled_back", "failed", "not deployed"] = Field(
        default="succeeded", description="How the rollout ended (the deploy stage follows it to its verdict).")
    reason: str = Field(default="", description="Why it ended so: the breached SLO, or why nothing was deployed.")


# A deployment that could not complete.
class DeploymentFailed(Model):
    type: Literal["deployment_failed"] = "deployment_failed"
    deployment_id: str | None = None
    service: str
    environment: str
    reason: str


# An SLO breached while watching a deployment.
class ObservabilityAlert(Model):
    type: Literal["observability_alert"] = "observability_alert"
    service: str
    environment: str
    slo: str
    measured: float
    threshold: float
    breached: bool = Field(default=True, description="False: the observe stage's measurement, within the SLO.")


# A deployment rolled back.
class RollbackEvent(Model):
    type: Literal["rollback_event"] = "rollback_event"
    service: str
    environment: str
    from_version: str
    to_version: str | None = None
    reason: str


# The last event of every run: how it ended and why.
class RunFinished(Model):
    type: Literal["run_finished"] = "run_finished"
    state: Literal["succeeded", "failed", "stopped by gate", "superseded"]
    reason: str = ""


Payload = Annotated[
    CodePush
    | CodeAnalysisResult
    | PlanReady
    | TestResults
    | BuildReady
    | IacReady
    | DeploymentTriggered
    | DeploymentFailed
    | ObservabilityAlert
    | RollbackEvent
    | RunFinished,
    Field(discriminator="type"),
]
EventType = Literal[
    "code_push",
    "code_analysis_result",
    "plan_ready",
    "test_results",
    "build_ready",
    "iac_ready",
    "deployment_triggered",
    "deployment_failed",
    "observability_alert",
    "rollback_event",
    "run_finished",
]


# Every event on the bus: who it is about (repository, ref, sha), which run, and the payload.
class Envelope(Model):
    version: Literal[1] = EVENT_VERSION
    id: str = Field(default_factory=new_id)
    type: EventType
    repo: str = Field(description="owner/name, or the local path's name for a local repository.")
    ref: str
    sha: str
    run_id: str
    correlation_id: str = Field(description="The same for every event caused by one push.")
    attempt: int = Field(default=1, ge=1)
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    payload: Payload

    @model_validator(mode="after")
    def _type_names_payload(self) -> Envelope:
        if self.type != self.payload.type:
            raise ValueError(f"envelope type {self.type!r} carries a {self.payload.type!r} payload")
        return self

    def follow(self, payload: Payload) -> Envelope:
        """The next event of the same run, caused by this one."""
        return Envelope(
            type=payload.type,
            repo=self.repo,
            ref=self.ref,
            sha=self.sha,
            run_id=self.run_id,
            correlation_id=self.correlation_id,
            payload=payload,
        )

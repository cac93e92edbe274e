"""What the DORA agent returns: the four metrics and the deployments behind them."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from devops_orchestra.models.base import Model
from devops_orchestra.models.findings import AgentReport

Band = Literal["elite", "high", "medium", "low"]
# What counts as a deployment; auto: the deployments recorded by `deploy` if any, else release tags if any,
# else merges into the default branch.
DeploymentSource = Literal["auto", "recorded", "tags", "merges"]
DEPLOYMENT_SOURCES: tuple[DeploymentSource, ...] = get_args(DeploymentSource)


# One of the four DORA metrics, its value and performance band, and how it was derived.
class DoraMetric(Model):
    name: Literal["deployment_frequency", "lead_time_for_changes", "change_failure_rate", "time_to_restore"]
    value: float | None = Field(default=None, description="Absent when the history has nothing to measure.")
    unit: str
    band: Band | None = Field(
        default=None, description="DORA performance band (State of DevOps thresholds).")
    samples: int
    derived: str = Field(description="How the value was computed from this repository's history.")


# A deployment found in the history (a tag or a merge), and whether it failed.
class DeploymentRecord(Model):
    ref: str = Field(description="The tag, or the merge commit.")
    commit: str
    at: float = Field(description="Unix time.")
    changes: int = Field(description="Commits it shipped first.")
    failed_by: str | None = None
    restored_after_h: float | None = None


# What dora_metrics returns: the four metrics and the deployments behind them.
class DoraReport(AgentReport):
    agent = "dora"
    days: int
    default_branch: str
    deployment_source: str
    metrics: list[DoraMetric]
    deployments: list[DeploymentRecord] = Field(description="Newest first, at most 30.")
    deployments_total: int
    prereleases_skipped: int = Field(
        default=0, description="Tags in the window left out as pre-releases (rc, beta, alpha, dev).")
    reverted_before_release: int = Field(
        default=0,
        description="Reverts shipped no later than the commit they revert: caught before release, not failures.")
    last_commit_at: float | None = Field(default=None, description="Unix time of the default branch's last commit.")
    inactive: str | None = Field(
        default=None, description="Set when the default branch has no commits in the window, saying since when.")

"""What the review returns (its plan, each agent's run, one verdict) and the list of agents."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devops_orchestra.models.base import Model
from devops_orchestra.models.compliance import GateResult
from devops_orchestra.models.findings import AgentReport


# One agent in the review's plan: whether it runs, and why.
class PlannedAgent(Model):
    agent: str
    tools: list[str]
    scanners: list[str] = Field(description="External scanners it runs.")
    why: str = Field(description="Why it applies to this repository and request, or why not.")
    run: bool


# How one agent's run within a review went.
class AgentRun(Model):
    agent: str
    status: Literal["ok", "failed"]
    duration_s: float
    findings: int = 0
    summary: str = Field(description="Its one-line result.")
    error: str | None = None


ReviewVerdict = Literal["safe to merge", "needs changes", "blocked by gate", "plan only"]


# What review returns: the plan, each agent's run and one verdict.
class ReviewReport(AgentReport):
    agent = "review"
    request: str = ""
    plan: list[PlannedAgent]
    verdict: ReviewVerdict
    verdict_reasons: list[str] = Field(default_factory=list)
    agents: list[AgentRun] = Field(default_factory=list)
    compliance_gate: GateResult | None = None
    changed_only: str | None = None


# An external scanner, whether it is installed, and its version.
class ScannerStatus(Model):
    name: str
    installed: bool
    version: str | None = None


# One agent: what it does, its tools and its scanners.
class AgentInfo(Model):
    name: str
    description: str
    tools: list[str]
    scanners: list[ScannerStatus]


# What list_agents returns.
class AgentList(Model):
    agents: list[AgentInfo]

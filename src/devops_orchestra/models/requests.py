"""What the tools and the CLI ask of an agent: one typed request per agent, kept with its run in the history."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from devops_orchestra.models.base import Model
from devops_orchestra.models.dora import DeploymentSource
from devops_orchestra.models.findings import Severity
from devops_orchestra.models.pipeline import ArtifactName


class AgentRequest(Model):
    """What every request has: where to look, and how the report names it."""

    target: Path = Field(description="Already confined to the allowed roots.")
    display_path: str = "."


class SecurityScanRequest(AgentRequest):
    """security_scan: which scanners, from which severity, over which files."""

    scanners: Sequence[str] | None = None
    min_severity: Severity = Severity.info
    changed_since: str | None = None
    staged: bool = False
    files: list[str] | None = Field(default=None, description="Only these paths, relative to target.")


class ComplianceRequest(AgentRequest):
    """compliance_check: which frameworks (default: every one the policies define)."""

    frameworks: list[str] | None = None


class ReviewRequest(AgentRequest):
    """review: what the person asked for, over which files, and whether to run the agents at all."""

    request: str = ""
    changed_since: str | None = None
    plan_only: bool = False


class SqlRequest(AgentRequest):
    """sql_analysis: inline SQL, or the files under target (or those changed since a ref, or staged); in which
    dialect (default: detected)."""

    sql: str | None = None
    dialect: str | None = None
    changed_since: str | None = None
    staged: bool = False


class ArchitectureRequest(AgentRequest):
    """architecture_analysis: a directory."""


class PipelineRequest(AgentRequest):
    """generate_pipeline: which artifacts (default: all that fit), and whether to write them."""

    artifacts: list[ArtifactName] | None = None
    write: bool = False
    overwrite: bool = False


class DoraRequest(AgentRequest):
    """dora_metrics: over how many days, and what counts as a deployment."""

    days: int = 90
    deployments: DeploymentSource = "auto"
    tag_pattern: str = "*"
    include_prereleases: bool = False

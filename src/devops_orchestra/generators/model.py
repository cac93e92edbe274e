"""What the pipeline agent returns: each generated file with its lint results, and what stays unmet."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from devops_orchestra.generators.stack import Component
from devops_orchestra.models import AgentReport, ScannerRun, _Model

ArtifactName = Literal["dockerfile", "github-actions", "gitlab-ci", "kubernetes", "terraform", "observability",
                       "compose"]
ARTIFACTS: tuple[ArtifactName, ...] = ("dockerfile", "github-actions", "gitlab-ci", "kubernetes", "terraform",
                                       "observability", "compose")
WriteStatus = Literal["not-written", "written", "overwritten", "unchanged", "kept-existing"]


class GeneratedFile(_Model):
    artifact: ArtifactName
    path: str = Field(description="Relative to report.root.")
    content: str | None = Field(default=None, description="Left out when over the response budget: see content_uri.")
    content_uri: str | None = None
    size: int
    status: WriteStatus = Field(description="kept-existing: the file exists and overwrite was not asked.")
    diff: str | None = Field(default=None, description="Unified diff against the file it overwrote.")
    lint: list[str] = Field(default_factory=list, description="Linter results that remain, one line each.")


class Unsatisfied(_Model):
    rule_id: str
    title: str
    paths: list[str]
    reason: str = Field(description="Why the template cannot satisfy it, and what to do.")


class GeneratedArtifacts(AgentReport):
    agent: ClassVar[str] = "pipeline"
    config: Literal["devops_orchestra.yaml", "inferred"]
    components: list[Component]
    files: list[GeneratedFile]
    linters: list[ScannerRun]
    clean: bool = Field(description="No high or critical lint result remains and every linter ran.")
    unsatisfied: list[Unsatisfied] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

"""What the pipeline agent returns: each generated file with its lint results, and what stays unmet."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from devops_orchestra.models.base import Model
from devops_orchestra.models.findings import AgentReport, ScannerRun

ArtifactName = Literal["dockerfile", "github-actions", "gitlab-ci", "kubernetes", "terraform", "observability",
                       "compose"]
ARTIFACTS: tuple[ArtifactName, ...] = ("dockerfile", "github-actions", "gitlab-ci", "kubernetes", "terraform",
                                       "observability", "compose")
WriteStatus = Literal["not-written", "written", "overwritten", "unchanged", "kept-existing"]


# One deployable directory as the generators see it (a docstring would land in the tool schema).
class ServiceSpec(Model):
    name: str = Field(description="DNS-safe service name.")
    path: str = Field(description="Directory relative to the root ('.' for the root).")
    language: str
    supported: bool = True
    framework: str | None = None
    package_manager: str | None = None
    port: int = 8080
    start: list[str] = Field(default_factory=list, description="The container's command.")
    start_from: str = ""  # where the command came from (a file and line, or a default); no description: the
    port_from: str = ""  # tool's schema stays under its 8,000-character budget
    test_command: str | None = None
    build_script: bool = False
    go_main: str = "."
    language_version: str | None = None
    datastores: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


# A file generate_pipeline produced: its content or where to get it, whether written, lint left.
class GeneratedFile(Model):
    artifact: ArtifactName
    path: str = Field(description="Relative to report.root.")
    content: str | None = Field(default=None, description="Left out when over the response budget: see content_uri.")
    content_uri: str | None = None
    size: int
    status: WriteStatus = Field(description="kept-existing: the file exists and overwrite was not asked.")
    diff: str | None = Field(default=None, description="Unified diff against the file it overwrote.")
    lint: list[str] = Field(default_factory=list, description="Linter results that remain, one line each.")


# A repository rule the generated files cannot meet, and why.
class Unsatisfied(Model):
    rule_id: str
    title: str
    paths: list[str]
    reason: str = Field(description="Why the template cannot satisfy it, and what to do.")


# What generate_pipeline returns: the services it saw, the files, their lint results.
class GeneratedArtifacts(AgentReport):
    agent: ClassVar[str] = "pipeline"
    config: Literal["devops_orchestra.yaml", "inferred"]
    components: list[ServiceSpec]
    files: list[GeneratedFile]
    linters: list[ScannerRun]
    clean: bool = Field(description="No high or critical lint result remains and every linter ran.")
    unsatisfied: list[Unsatisfied] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

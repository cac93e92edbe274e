"""What the architecture agent returns: ArchitectureReport and its parts."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from devops_orchestra.models.base import OutputModel
from devops_orchestra.models.findings import AgentReport, ScanScope


class Where(OutputModel):
    """A place in the analysed tree that a fact comes from."""

    path: str
    line: int = 1


# One language's share of the tree: files and non-blank lines, test code counted apart.
class LanguageStat(OutputModel):
    language: str
    files: int
    lines: int = Field(description="Non-blank lines.")
    test_files: int = 0
    test_lines: int = 0


# A dependency manifest found in the tree (requirements.txt, package.json, go.mod, ...).
class Manifest(OutputModel):
    path: str
    kind: str = Field(description="requirements.txt, pyproject.toml, package.json, go.mod, pom.xml, ...")
    package_manager: str
    name: str | None = None
    dependencies: int = 0


# A web framework the code uses, and where that was seen.
class WebFramework(OutputModel):
    name: str
    version: str | None = Field(default=None, description="As pinned or constrained in the manifest.")
    language: str
    path: str = Field(description="Manifest or source file it was found in.")


# A way the code is started: a main guard, a package or console script, a Docker CMD, ...
class EntryPoint(OutputModel):
    kind: str = Field(description="main guard, package script, console script, go main package, docker cmd, ...")
    path: str
    line: int = 1
    name: str | None = None
    command: str | None = None


class Dependency(OutputModel):
    """A third-party package a manifest or an import names (used to find frameworks and data stores)."""

    name: str
    version: str | None = None
    ecosystem: str  # pypi, npm, go, maven
    where: Where


# A database, cache, queue or outside service the code talks to, with the evidence.
class DataStore(OutputModel):
    name: str = Field(description="PostgreSQL, Redis, S3, Stripe, ...")
    kind: str = Field(description="database, cache, queue, object storage, search, external service")
    host: str | None = Field(default=None, description="Host or compose service, when config names one.")
    evidence: list[str] = Field(default_factory=list, description="file:line and what was seen there.")
    used_by: list[str] = Field(default_factory=list, description="Component names.")


# A deployable unit: its code, how it is built and run, what it depends on, how well it is tested.
class Component(OutputModel):
    name: str
    path: str = Field(description="Directory relative to root; '' for compose/k8s units with no code here.")
    kinds: list[str] = Field(description="Why it counts: manifest, dockerfile, go main, compose, kubernetes, ...")
    language: str | None = None
    frameworks: list[str] = Field(default_factory=list)
    ports: list[int] = Field(default_factory=list)
    entry_points: list[str] = Field(default_factory=list)
    dockerfile: str | None = None
    images: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    data_stores: list[str] = Field(default_factory=list)
    health_checks: list[str] = Field(default_factory=list,
                                     description="Health routes, Dockerfile HEALTHCHECK, compose healthcheck, probes.")
    files: int = 0
    lines: int = 0
    test_files: int = 0
    test_lines: int = 0
    test_ratio: float | None = Field(default=None, description="Test lines per code line.")


# What a Dockerfile builds from, exposes and runs.
class DockerfileInfo(OutputModel):
    path: str
    base_images: list[str]
    ports: list[int] = Field(default_factory=list)
    healthcheck: bool = False
    user: str | None = None
    command: str | None = None
    copies_from: list[str] = Field(default_factory=list, description="Local sources of COPY/ADD.")


# A service of a docker compose file.
class ComposeService(OutputModel):
    file: str
    name: str
    line: int = 1
    image: str | None = None
    build: str | None = None
    ports: list[int] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    healthcheck: bool = False
    environment: dict[str, str] = Field(default_factory=dict, description="Values as written (may be secrets).",
                                        exclude=True)


# A Kubernetes object of a manifest, with its images, ports and probes.
class KubeObject(OutputModel):
    path: str
    line: int = 1
    kind: str
    name: str
    namespace: str | None = None
    images: list[str] = Field(default_factory=list)
    ports: list[int] = Field(default_factory=list)
    probes: list[str] = Field(default_factory=list, description="Liveness/readiness/startup probes (HTTP path).")


# A Helm chart (its Chart.yaml).
class HelmChart(OutputModel):
    path: str
    name: str
    version: str | None = None


# A Terraform resource, data source or module block.
class TerraformResource(OutputModel):
    path: str
    line: int = 1
    provider: str
    type: str
    name: str
    block: str = "resource"  # resource | data | module


# A CI system in use, and the files that configure it.
class CiSystem(OutputModel):
    name: str
    paths: list[str]


# A serverless function (Serverless Framework, AWS SAM or Terraform).
class ServerlessFunction(OutputModel):
    path: str
    name: str
    handler: str | None = None
    runtime: str | None = None
    framework: str  # serverless, aws-sam, terraform


# Everything the infrastructure files describe: containers, Kubernetes, Terraform, serverless, CI.
class Infrastructure(OutputModel):
    dockerfiles: list[DockerfileInfo] = Field(default_factory=list)
    compose_services: list[ComposeService] = Field(default_factory=list)
    kubernetes: list[KubeObject] = Field(default_factory=list)
    kubernetes_by_kind: dict[str, int] = Field(default_factory=dict)
    helm_charts: list[HelmChart] = Field(default_factory=list)
    terraform: list[TerraformResource] = Field(default_factory=list)
    terraform_by_provider: dict[str, int] = Field(default_factory=dict)
    serverless: list[ServerlessFunction] = Field(default_factory=list)
    ci: list[CiSystem] = Field(default_factory=list)


# An internal module and how many internal modules import it, or it imports.
class ModuleStat(OutputModel):
    module: str
    path: str
    fan_in: int = Field(description="Internal modules importing it.")
    fan_out: int = Field(description="Internal modules it imports.")
    lines: int = 0


# Imports from one internal package to another, counted.
class PackageEdge(OutputModel):
    source: str
    target: str
    imports: int


# Who imports whom inside the code: sizes, package edges, cycles and the most coupled modules.
class ImportGraph(OutputModel):
    modules: int = 0
    internal_imports: int = 0
    external_packages: int = 0
    packages: list[str] = Field(default_factory=list, description="Modules collapsed to packages for display.")
    package_edges: list[PackageEdge] = Field(default_factory=list)
    cycles: list[list[str]] = Field(default_factory=list, description="Module-level import cycles.")
    most_depended_upon: list[ModuleStat] = Field(default_factory=list)
    most_depending: list[ModuleStat] = Field(default_factory=list)


# A function complex enough to be worth a look (cyclomatic complexity 10 or more).
class Hotspot(OutputModel):
    path: str
    function: str
    line: int
    complexity: int = Field(description="Cyclomatic complexity.")
    lines: int


# The Mermaid diagrams of the report.
class Diagrams(OutputModel):
    components: str = Field(description="Mermaid flowchart: components, data stores, services, infrastructure.")
    packages: str = Field(description="Mermaid flowchart of the internal package graph.")



# What architecture_analysis returns: the system's map, with findings and diagrams.
class ArchitectureReport(AgentReport):
    agent: ClassVar[str] = "architecture"
    languages: list[LanguageStat] = Field(description="Most lines first; vendored, generated, ignored files left out.")
    manifests: list[Manifest]
    frameworks: list[WebFramework]
    entry_points: list[EntryPoint]
    components: list[Component] = Field(description="Deployable units.")
    data_stores: list[DataStore] = Field(description="Data stores and external services the code talks to.")
    infrastructure: Infrastructure
    imports: ImportGraph
    hotspots: list[Hotspot] = Field(description="Most complex functions first.")
    functions: int = Field(description="Functions measured for complexity.")
    layer_rules: str | None = Field(default=None, description="Config file the layering rules came from.")
    diagrams: Diagrams
    warnings: list[str] = Field(description="Files that could not be parsed, with line; they were left out.")
    lists_cut: dict[str, int] = Field(default_factory=dict, description="List -> full length, where cut.")
    scope: ScanScope

"""devops_orchestra.yaml: the repository's own description of how it is built, tested and deployed.

Every section is optional. Unknown keys are an error that names the key and its line, so a typo
(`deployement:`) is never silently ignored. The `architecture` section belongs to the architecture
agent and is only checked to be a mapping here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from devops_orchestra.compliance.policy import ComplianceSection
from devops_orchestra.core.errors import OrchestraError

CONFIG_NAME = "devops_orchestra.yaml"


def _inside_repository(path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or not re.fullmatch(r"[\w.@/-]+", path):
        raise ValueError(f"{path!r} must be a relative path inside the repository (no leading /, no ..)")
    return path


RelativePath = Annotated[str, AfterValidator(_inside_repository)]


class ConfigError(OrchestraError):
    """devops_orchestra.yaml cannot be read or does not fit the schema."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Project(_Section):
    """The project: its name (every generated resource carries it), language, framework and repository."""

    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][\w.-]*$", max_length=60)
    language: str | None = None
    framework: str | None = None
    repo: str | None = None


class Build(_Section):
    """How images are built, and the registry they are pushed to."""

    tool: Literal["docker", "maven", "npm", "poetry", "custom"] = "docker"
    context: str = "."
    dockerfile: str | None = None
    registry: str | None = Field(default=None, description="Image registry; default per provider.")


class Testing(_Section):
    """Whether CI runs the tests, and with which command."""

    enabled: bool = True
    framework: str | None = None
    command: str | None = None
    timeout: float | None = Field(default=None, gt=0, description="Seconds the test stage and test_gaps let the "
                                                                   "tests run before stopping them (default 600)")


class EnvVar(_Section):
    """An environment variable of a service; a key listed in secrets.keys comes from the secret store instead."""

    key: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    value: str = ""


class Service(_Section):
    """A service to deploy: where it runs, its port and environment, the services it needs, its directory."""

    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=50)
    runtime: Literal["ec2", "lambda", "kubernetes", "ecs", "cloudrun", "local"] = "kubernetes"
    port: int = Field(default=8080, ge=1, le=65535)
    env: list[EnvVar] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    path: RelativePath | None = Field(default=None, description="The component's directory, relative to the root.")
    start: str | None = Field(default=None, description="runtime local: the command that starts one instance, "
                              "run in the release directory; $PORT is replaced by the instance's port")
    install: str | None = Field(default=None, description="runtime local: the command that installs the "
                                "release's dependencies, run once in its directory (e.g. pip install -r ...)")
    health: str = Field(default="/health", pattern=r"^/", description="The path answering 200 when an "
                        "instance is ready")

    @model_validator(mode="after")
    def _local_needs_start(self) -> Service:
        if self.runtime == "local" and not self.start:
            raise ValueError(f"service {self.name!r} has runtime local but no start command "
                             "(e.g. start: python app.py --port $PORT)")
        return self


class Step(_Section):
    """A canary step: this percent of requests on the new version, watched for `pause` before the next."""

    weight: int = Field(ge=1, le=100)
    pause: str = Field(default="0s", pattern=r"^\d+(\.\d+)?(ms|s|m|h)$", description="e.g. 30s, 2m")


class Environment(_Section):
    """Where a deploy goes: this machine's processes behind haproxy (local), or a Kubernetes namespace."""

    target: Literal["local", "kubernetes"] = "local"
    listen: str | None = Field(default=None, pattern=r"^[\w.:\[\]-]+:\d+$",
                               description="local: HOST:PORT the environment's proxy listens on")
    instances: int = Field(default=2, ge=1, le=32, description="local: processes per version")
    context: str | None = Field(default=None, description="kubernetes: the kubeconfig context")
    namespace: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                                  description="kubernetes: the namespace")
    manifests: RelativePath = Field(default="k8s", description="kubernetes: the manifests to apply, a file or "
                                    "directory of the repository (the pipeline agent generates k8s/)")
    prometheus: str | None = Field(default=None, description="The Prometheus that watches it (a URL); local "
                                   "runs its own when absent")
    strategy: Literal["blue-green", "canary", "rolling"] | None = Field(
        default=None, description="Overrides deployment.strategy here")
    steps: list[Step] = Field(default_factory=list, description="canary: weights and pauses; default 10, 50")
    production: bool = Field(default=False, description="Deploys need a passing review verdict and "
                             "compliance gate for the sha")
    approval: bool = Field(default=False, description="The pipeline asks a person (ChatOps) before deploying")
    branches: list[str] = Field(default_factory=list, description="The pipeline deploys here the pushes to these "
                                "branches (shell patterns, e.g. main, release/*); none: any branch. It deploys to "
                                "the first environment listed that takes the branch.")

    @model_validator(mode="after")
    def _fits_target(self) -> Environment:
        if self.target == "local" and (self.context or self.namespace):
            raise ValueError("context and namespace are for target kubernetes; a local environment takes "
                             "listen and instances")
        if self.target == "kubernetes" and self.listen:
            raise ValueError("listen is for target local; a kubernetes environment takes context and namespace")
        return self


class DeploymentSection(_Section):
    """Where and how the services are deployed: kind of hosting, provider, rollout strategy, region."""

    type: Literal["cloud", "on-premise", "hybrid"] = "cloud"
    provider: Literal["aws", "gcp", "azure", "custom"] = "aws"
    strategy: Literal["blue-green", "canary", "rolling"] = "rolling"
    region: str = Field(default="us-east-1", pattern=r"^[a-z0-9-]+$")
    services: list[Service] = Field(default_factory=list)
    environments: dict[str, Environment] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dependencies_exist(self) -> DeploymentSection:
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"service names must be unique, got {names}")
        for s in self.services:
            unknown = set(s.depends_on) - set(names)
            if unknown:
                raise ValueError(f"service {s.name!r} depends on unknown service(s) {sorted(unknown)}")
        return self


class InfrastructureSection(_Section):
    """The infrastructure-as-code tool, and the directory its files go in."""

    tool: Literal["terraform", "cloudformation", "ansible"] = "terraform"
    path: RelativePath = "infra"


class Secrets(_Section):
    """The secret manager and the keys kept in it: the generated files refer to them, never hold them."""

    manager: str | None = None
    keys: list[str] = Field(default_factory=list)


class Threshold(_Section):
    """Limits past which a deploy is rolled back and an alert fires."""

    cpu: float | None = Field(default=None, ge=0, le=100, description="Percent.")
    errors: float | None = Field(default=None, ge=0, le=100, description="Percent of requests.")
    duration: str | None = Field(default=None, pattern=r"^\d+[smh]$", description="e.g. 5m")


class Rollback(_Section):
    """Rolling a canary or blue-green deploy back on its own, past the threshold."""

    enabled: bool = True
    threshold: Threshold = Field(default_factory=Threshold)
    interval: str = Field(default="10s", pattern=r"^\d+(\.\d+)?(ms|s|m|h)$",
                          description="How often the SLOs are measured while a deploy is watched")
    failure_limit: int = Field(default=0, ge=0, description="Breached measurements tolerated; one more rolls back")


class Alert(_Section):
    """An alert rule for each service: its type (latency, error_rate, cpu, availability) and limit."""

    type: str
    threshold_ms: float | None = None
    threshold: float | None = None


class Observability(_Section):
    """Monitoring: the tools, and the alert rules written for each service."""

    enabled: bool = True
    tools: list[str] = Field(default_factory=lambda: ["prometheus"])
    alerts: list[Alert] = Field(default_factory=list)


class ChatOps(_Section):
    """Deploy notifications: platform (Slack is generated), channel, and on which outcomes."""

    enabled: bool = False
    platform: str | None = None
    channel: str | None = None
    notify_on: list[str] = Field(default_factory=list, description=(
        "When to post: failure, success, deploy, cancelled (the generated CI workflow and the orchestra), started "
        "and stage (the orchestra's thread per run); failure when empty"))


class Gates(_Section):
    """Gates between the orchestra's stages: a run they stop says which gate and why."""

    verdict: Literal["stop", "warn"] = Field(
        default="stop", description="When the analysis verdict is 'needs changes' or 'blocked by gate': stop the "
                                    "run, or go on and say so in the stage's summary")
    deploy_branches: list[str] = Field(default_factory=list,
                                       description="Deploy only from these branches; every branch when empty")
    tests: Literal["stop", "warn"] = Field(
        default="stop", description="When the test stage's tests fail: stop the run, or go on and say so (tests "
                                    "that cannot run, or a repository without tests, never stop it)")
    changed_coverage: float | None = Field(
        default=None, ge=0, le=100, description="Percent of the changed lines the tests must run, or the run stops")
    code_checks: Literal["stop", "warn"] = Field(
        default="stop", description="When the test stage's code checks find what breaks at run time (a module "
                                    "imported but not declared, an undefined name, a syntax error): stop, or warn")


class OrchestraSection(_Section):
    """The orchestra's pipeline for this repository: its gates, and whether the plan stage writes files."""

    gates: Gates = Field(default_factory=Gates)
    plan_writes: bool = Field(default=False, description="The plan stage writes the missing files it proposes "
                                                         "into the checkout (never over existing ones)")


class OrchestraConfig(_Section):
    """The whole of devops_orchestra.yaml; every section is optional."""

    project: Project = Field(default_factory=Project)
    build: Build = Field(default_factory=Build)
    testing: Testing = Field(default_factory=Testing)
    deployment: DeploymentSection = Field(default_factory=DeploymentSection)
    infrastructure: InfrastructureSection | None = None
    secrets: Secrets = Field(default_factory=Secrets)
    rollback: Rollback = Field(default_factory=Rollback)
    observability: Observability = Field(default_factory=Observability)
    chatops: ChatOps = Field(default_factory=ChatOps)
    architecture: dict[str, Any] | None = Field(default=None, description="Read by the architecture agent.")
    compliance: ComplianceSection | None = Field(default=None, description="Read by the compliance agent.")
    orchestra: OrchestraSection = Field(default_factory=OrchestraSection)

    def to_yaml(self) -> str:
        """The configuration as YAML without unset keys, as init_config writes it."""
        data = self.model_dump(mode="json", exclude_none=True)
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def load(root: Path) -> OrchestraConfig | None:
    """The config at root, or None when there is none. Raises ConfigError naming the line."""
    path = root / CONFIG_NAME
    if not path.is_file():
        return None
    return parse(path.read_text(encoding="utf-8"), str(path))


def parse(text: str, where: str = CONFIG_NAME) -> OrchestraConfig:
    """The configuration in text; ConfigError naming the line of anything that does not fit the schema."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {exc}. Fix the syntax there.") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping of sections (project:, build:, deployment: ...).")
    try:
        return OrchestraConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err, node, where) for err in exc.errors()]
        raise ConfigError("; ".join(problems[:5])
                          + ". See the schema in docs/configuration.md (devops_orchestra.yaml).") from None


def _describe(err: Any, node: yaml.Node | None, where: str) -> str:
    loc = tuple(err["loc"])
    line = _line_of(node, loc)
    at = f"{where} line {line}" if line else where
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        allowed = ", ".join(parent.model_fields) if parent else ""
        return f"{at}: unknown key {loc[-1]!r} in {'.'.join(str(p) for p in loc[:-1]) or 'the top level'}" + (
            f" (allowed: {allowed})" if allowed else "")
    return f"{at}: {dotted}: {err['msg']}"


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the key (or item) at loc in the composed YAML, as near as it exists."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = OrchestraConfig
    keyed = False  # the previous field was a mapping of names (deployment.environments): skip the name
    for part in loc:
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        inner = _model_in(field.annotation)
        if inner is None:
            return None
        keyed = getattr(field.annotation, "__origin__", None) is dict
        model = inner
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found:
            return found
    return None

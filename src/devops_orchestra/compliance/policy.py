"""Compliance frameworks and gates as code: the schema, and loading it from bundled and organisation files.

Bundled frameworks live in policies/compliance/*.yaml. An organisation adds its own in the same format in
`.devops-orchestra/policies/*.yaml` of the scanned repository or in files named by `compliance.policies`
in its devops_orchestra.yaml; a framework id that is already bundled is replaced.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from devops_orchestra.core.errors import PolicyError
from devops_orchestra.core.paths import policies_dir
from devops_orchestra.models import Finding, Severity

RepoCheck = Literal[
    "lock_files", "ci_security_scan", "ci_configured", "dependency_updates", "code_owners", "audit_trail",
    "no_terraform_state",
]
Needs = Literal["code", "iac", "secrets", "deps", "any"]
ORG_POLICY_DIR = ".devops-orchestra/policies"
CONFIG_FILE = "devops_orchestra.yaml"


class _PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Selector(_PolicyModel):
    """Findings that break a control: any category, CWE or rule-id pattern matches, at min_severity or above."""

    categories: list[str] = []
    cwes: list[str] = []
    rules: list[str] = Field(default=[], description="fnmatch patterns on rule ids, e.g. 'checkov:CKV_AWS_*'.")
    min_severity: Severity = Severity.low
    needs: Needs = Field(
        default="any", description="What must have been scanned for 'no such finding' to count as evidence.")

    @model_validator(mode="after")
    def _not_empty(self) -> Selector:
        if not (self.categories or self.cwes or self.rules):
            raise ValueError("violated_by needs at least one of categories, cwes, rules")
        return self

    def matches(self, f: Finding) -> bool:
        """Whether a finding breaks the control: severe enough, not in test code, of a listed category, CWE or rule."""
        if f.severity.rank < self.min_severity.rank or f.in_test_code:
            return False
        rule_ids = [f.rule_id, *f.sources]
        return (f.category in self.categories or (f.cwe is not None and f.cwe in self.cwes)
                or any(fnmatchcase(r, p) for r in rule_ids for p in self.rules))


class Control(_PolicyModel):
    """One control of a framework: what it requires, and how it is judged (findings, repository checks, a person)."""

    id: str
    title: str
    requirement: str
    evidence: str = Field(description="What a repository can show for it.")
    violated_by: Selector | None = None
    checks: list[RepoCheck] = []
    manual: str | None = Field(default=None, description="What a person must supply; no scan can show it.")
    remediation: str

    @model_validator(mode="after")
    def _judged_somehow(self) -> Control:
        if not (self.violated_by or self.checks or self.manual):
            raise ValueError(f"control {self.id} has no violated_by, checks or manual: nothing could judge it")
        return self


class Gate(_PolicyModel):
    """Blocks a compliance check when any of its conditions holds."""

    name: str
    description: str | None = None
    block_on_severity: Severity | None = Field(default=None, description="Any finding at or above it blocks.")
    block_on_failed: list[str] = Field(
        default=[], description="A failed control blocks: a framework id ('pci-dss') or one control ('soc2:CC6.1').")
    min_score: float | None = Field(default=None, ge=0, le=100, description="A framework scoring below blocks.")

    @model_validator(mode="after")
    def _has_condition(self) -> Gate:
        if self.block_on_severity is None and not self.block_on_failed and self.min_score is None:
            raise ValueError(f"gate {self.name} sets none of block_on_severity, block_on_failed, min_score")
        return self


class Framework(_PolicyModel):
    """A compliance framework (SOC 2, HIPAA, PCI DSS, ...) and its controls."""

    framework: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    version: str | None = None
    reference: str | None = None
    controls: list[Control] = Field(min_length=1)
    source: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _unique_ids(self) -> Framework:
        ids = [c.id for c in self.controls]
        if dupes := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"control ids appear more than once: {', '.join(dupes)}")
        return self


class PolicyFile(_PolicyModel):
    """One file: a framework (framework, name, controls), gates, or both."""

    framework: str | None = None
    name: str | None = None
    version: str | None = None
    reference: str | None = None
    controls: list[Control] = []
    gates: list[Gate] = []

    @model_validator(mode="after")
    def _something(self) -> PolicyFile:
        if not (self.framework or self.gates):
            raise ValueError("a policy file defines a framework (framework, name, controls) or gates, or both")
        return self


class ComplianceSection(_PolicyModel):
    """The `compliance` section of devops_orchestra.yaml."""

    policies: list[str] = Field(default=[], description="Policy files, relative to the repository root.")
    gates: list[Gate] = []


class Policies(BaseModel):
    """Every framework and the gates that apply, with the organisation files they came from."""

    frameworks: dict[str, Framework]
    gates: list[Gate]
    sources: list[str] = Field(description="Organisation files read, relative to the repository root.")


def load_policies(root: Path) -> Policies:
    """The bundled frameworks and gates, with the organisation's files in root laid over them.

    Blocking (reads files). Raises PolicyError naming the file and field of anything malformed.
    """
    frameworks: dict[str, Framework] = {}
    default_gates: list[Gate] = []
    bundled = policies_dir() / "compliance"
    for path in sorted(bundled.glob("*.yaml")):
        _add(_read(path, path.name), frameworks, default_gates)

    org_gates: list[Gate] = []
    config = _config_section(root)
    org_files = sorted((root / ORG_POLICY_DIR).glob("*.yaml")) if (root / ORG_POLICY_DIR).is_dir() else []
    for name in config.policies:
        path = (root / name).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            raise PolicyError(f"{CONFIG_FILE}: compliance.policies names {name!r}, which is not a file inside "
                              f"{root}.")
        org_files.append(path)
    sources = []
    for path in dict.fromkeys(org_files):
        rel = path.resolve().relative_to(root.resolve()).as_posix()
        _add(_read(path, rel), frameworks, org_gates)
        sources.append(rel)
    org_gates += config.gates
    return Policies(frameworks=frameworks, gates=org_gates or default_gates, sources=sources)


def _add(policy: PolicyFile, frameworks: dict[str, Framework], gates: list[Gate]) -> None:
    if policy.framework:
        frameworks[policy.framework] = Framework.model_validate(policy.model_dump(exclude={"gates"}))
    gates += policy.gates


def _read(path: Path, shown: str) -> PolicyFile:
    data = _yaml(path, shown)
    try:
        policy = PolicyFile.model_validate(data)
        if policy.framework:  # the framework's own rules (name, at least one control) apply too
            Framework.model_validate(policy.model_dump(exclude={"gates"}))
        return policy
    except ValidationError as exc:
        raise PolicyError(f"{shown}: {_explain(exc)}") from exc


def _config_section(root: Path) -> ComplianceSection:
    path = root / CONFIG_FILE
    if not path.is_file():
        return ComplianceSection()
    data = _yaml(path, CONFIG_FILE)
    section = data.get("compliance") if isinstance(data, dict) else None
    try:
        return ComplianceSection.model_validate(section or {})
    except ValidationError as exc:
        raise PolicyError(f"{CONFIG_FILE}: compliance.{_explain(exc)}") from exc


def _yaml(path: Path, shown: str) -> object:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise PolicyError(f"{shown}:{where} is not valid YAML: {getattr(exc, 'problem', exc)}.") from exc
    except OSError as exc:
        raise PolicyError(f"{shown}: cannot read it: {exc.strerror}.") from exc


def _explain(exc: ValidationError) -> str:
    """'controls.2.id: Field required; ...': the field path first, as a person looks for it in the file."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        parts.append(f"{field}: {err['msg']}" if field else err["msg"])
    return "; ".join(parts)

"""Repository checks of our own, for compliance controls no scanner judges.

Each check looks at the repository's file list (and reads a few files) and answers pass, fail or
not_applicable with the files that show it. Blocking: run in a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from devops_orchestra.models import Evidence

CheckStatus = Literal["pass", "fail", "not_applicable"]


@dataclass
class CheckResult:
    """A check's answer: pass, fail or not applicable, why, and the files that show it."""

    status: CheckStatus
    detail: str
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Repo:
    """The repository as the checks see it: every listed file (lock files included), relative to base."""

    base: Path
    files: list[str]
    warnings: list[str] = field(default_factory=list)

    def named(self, *patterns: str) -> list[str]:
        """The files matching any of these glob patterns (matched from the right, like PurePosixPath.match)."""
        return [f for f in self.files if any(PurePosixPath(f).match(p) for p in patterns)]

    def text(self, rel: str) -> str | None:
        """A file's text, or None (and a warning) when it cannot be read."""
        try:
            return (self.base / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.warnings.append(f"{rel}: not read ({exc.__class__.__name__})")
            return None


CI_FILES = (".github/workflows/*.yml", ".github/workflows/*.yaml", ".gitlab-ci.yml", "Jenkinsfile",
            ".circleci/config.yml", "azure-pipelines.yml", "bitbucket-pipelines.yml", ".travis.yml",
            ".drone.yml", ".buildkite/pipeline.yml")
CI_SECURITY_TOOLS = re.compile(
    r"\b(devops-orchestra|semgrep|bandit|checkov|trivy|snyk|codeql|gitleaks|detect-secrets|trufflehog|grype|"
    r"pip-audit|npm audit|yarn audit|osv-scanner|gosec|tfsec|kics|zaproxy|sonar\w*|dependency-check)\b",
    re.IGNORECASE)
UPDATE_BOTS = (".github/dependabot.yml", ".github/dependabot.yaml", "renovate.json", "renovate.json5",
               ".renovaterc", ".renovaterc.json", ".github/renovate.json", ".github/renovate.json5",
               ".gitlab/renovate.json")
CODEOWNERS = ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")
# Manifest -> lock files that pin it (in its directory or a parent: workspaces keep one lock at the top).
LOCKS = {
    "package.json": ("package-lock.json", "yarn.lock", "pnpm-lock.yaml", "npm-shrinkwrap.json", "bun.lockb",
                     "bun.lock"),
    "pyproject.toml": ("poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock"),
    "Pipfile": ("Pipfile.lock",),
    "go.mod": ("go.sum",),
    "Gemfile": ("Gemfile.lock",),
    "Cargo.toml": ("Cargo.lock",),
    "composer.json": ("composer.lock",),
}
PINNED_REQUIREMENT = re.compile(r"^[A-Za-z0-9._\[\], -]+===?[^=*]+$")
# Resource types that record who did what, per cloud provider prefix.
AUDIT_TRAILS = {
    "aws_": ("aws_cloudtrail", "aws_organizations_organization"),
    "google_": ("google_project_iam_audit_config", "google_organization_iam_audit_config",
                "google_folder_iam_audit_config", "google_logging_project_sink"),
    "azurerm_": ("azurerm_monitor_diagnostic_setting", "azurerm_monitor_aad_diagnostic_setting"),
}


def lock_files(repo: Repo) -> CheckResult:
    """Passes when every dependency manifest is pinned by a lock file, and requirements files pin with ==."""
    present = set(repo.files)
    unpinned: list[Evidence] = []
    pinned: list[Evidence] = []
    for manifest in repo.named(*LOCKS):
        path = PurePosixPath(manifest)
        dirs = [path.parent, *path.parent.parents]
        lock = next((d / n for d in dirs for n in LOCKS[path.name] if (d / n).as_posix() in present), None)
        if lock:
            pinned.append(Evidence(path=lock.as_posix(), note=f"pins {manifest}"))
        else:
            unpinned.append(Evidence(path=manifest, line=1, note=f"no {' / '.join(LOCKS[path.name][:3])}"))
    for req in repo.named("requirements*.txt", "requirements/*.txt"):
        loose = _first_unpinned_requirement(repo.text(req) or "")
        if loose:
            line, text = loose
            unpinned.append(Evidence(path=req, line=line, note=f"{text!r} is not pinned with =="))
        else:
            pinned.append(Evidence(path=req, note="every requirement pinned with =="))
    if unpinned:
        return CheckResult("fail", f"{len(unpinned)} manifest(s) without a lock file or exact pins", unpinned)
    if pinned:
        return CheckResult("pass", "every dependency manifest is pinned by a lock file", pinned)
    return CheckResult("not_applicable", "no dependency manifests")


def _first_unpinned_requirement(text: str) -> tuple[int, str] | None:
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-", "--")) or "://" in line:
            continue
        requirement = line.split(";", 1)[0].strip().rstrip("\\").strip()
        if not PINNED_REQUIREMENT.match(requirement):
            return number, requirement
    return None


def ci_configured(repo: Repo) -> CheckResult:
    """Passes when the repository has CI configuration."""
    found = repo.named(*CI_FILES)
    if not found:
        return CheckResult("fail", "no CI configuration (GitHub Actions, GitLab CI, Jenkins, CircleCI, ...)")
    return CheckResult("pass", f"{len(found)} CI file(s)", [Evidence(path=f) for f in found])


def ci_security_scan(repo: Repo) -> CheckResult:
    """Passes when some CI file runs a security scanner."""
    found = repo.named(*CI_FILES)
    if not found:
        return CheckResult("fail", "no CI configuration, so nothing scans changes")
    hits = [hit for f in found if (hit := _first_match(repo, f, CI_SECURITY_TOOLS))]
    if hits:
        return CheckResult("pass", "CI runs a security scanner", hits)
    return CheckResult("fail", "CI runs no security scanner (devops-orchestra, semgrep, CodeQL, trivy, ...)",
                       [Evidence(path=f, line=1) for f in found])


def _first_match(repo: Repo, rel: str, pattern: re.Pattern[str]) -> Evidence | None:
    for number, line in enumerate((repo.text(rel) or "").splitlines(), 1):
        if m := pattern.search(line):
            return Evidence(path=rel, line=number, note=f"runs {m.group(0)}")
    return None


def dependency_updates(repo: Repo) -> CheckResult:
    """Passes when Dependabot or Renovate is configured to update dependencies."""
    found = [f for f in UPDATE_BOTS if f in set(repo.files)]
    if found:
        return CheckResult("pass", "dependency updates are automated", [Evidence(path=f) for f in found])
    return CheckResult("fail", "no Dependabot or Renovate configuration")


def code_owners(repo: Repo) -> CheckResult:
    """Passes when a CODEOWNERS file names who must review changes."""
    for rel in (f for f in CODEOWNERS if f in set(repo.files)):
        rules = [n for n, line in enumerate((repo.text(rel) or "").splitlines(), 1)
                 if line.strip() and not line.lstrip().startswith("#") and "@" in line]
        if rules:
            return CheckResult("pass", "CODEOWNERS names reviewers", [Evidence(path=rel, line=rules[0])])
        return CheckResult("fail", "CODEOWNERS names no owners", [Evidence(path=rel, line=1)])
    return CheckResult("fail", "no CODEOWNERS file, so no reviewer is required for any path")


def no_terraform_state(repo: Repo) -> CheckResult:
    """Passes when no Terraform state file (secrets in plain text) is in the repository."""
    states = repo.named("*.tfstate", "*.tfstate.backup")
    if states:
        return CheckResult("fail", "Terraform state (which holds secrets in plain text) is in the repository",
                           [Evidence(path=s, line=1) for s in states])
    return CheckResult("pass", "no Terraform state files in the repository")


def audit_trail(repo: Repo) -> CheckResult:
    """Passes when each cloud the Terraform uses has an audit trail (CloudTrail, IAM audit config, diagnostics)."""
    resources = [r for tf in repo.named("*.tf") for r in _resources(repo, tf)]
    if not resources:
        return CheckResult("not_applicable", "no Terraform resources")
    missing: list[Evidence] = []
    trails: list[Evidence] = []
    for prefix, trail_types in AUDIT_TRAILS.items():
        used = [r for r in resources if r.type.startswith(prefix)]
        found = [Evidence(path=r.path, line=r.line, note=r.type) for r in used if r.type in trail_types]
        trails += found
        if used and not found:
            missing.append(Evidence(path=used[0].path, line=used[0].line,
                                    note=f"{used[0].type}, with no {' / '.join(trail_types[:2])} anywhere"))
    if missing:
        return CheckResult("fail", "cloud resources without an audit trail defined", missing)
    if trails:
        return CheckResult("pass", "an audit trail is defined", trails)
    return CheckResult("not_applicable", "no AWS, GCP or Azure resources")


@dataclass(frozen=True)
class Resource:
    """A top-level Terraform resource block: its type and where it is."""

    type: str
    path: str
    line: int


def _resources(repo: Repo, rel: str) -> list[Resource]:
    """Top-level `resource "type" "name"` blocks with their line."""
    import hcl2  # here, not at the top: its grammar costs 80 ms of every server start
    from lark import LarkError, Tree

    text = repo.text(rel)
    if text is None:
        return []
    try:
        tree = hcl2.parses_to_tree(text)
    except LarkError as exc:
        repo.warnings.append(f"{rel}: not valid HCL ({str(exc).splitlines()[0]})")
        return []
    body = tree.children[0] if tree.children and isinstance(tree.children[0], Tree) else tree
    return [Resource(_label(block.children[1]), rel, block.meta.line) for block in body.children
            if isinstance(block, Tree) and block.data == "block" and len(block.children) > 2
            and _label(block.children[0]) == "resource"]


def _label(node: object) -> str:
    from lark import Token, Tree

    if isinstance(node, Token):
        return str(node)
    if isinstance(node, Tree):
        return "".join(_label(c) for c in node.children if not (isinstance(c, Token) and c.type == "DBLQUOTE"))
    return ""


CHECKS: dict[str, Callable[[Repo], CheckResult]] = {
    "lock_files": lock_files,
    "ci_security_scan": ci_security_scan,
    "ci_configured": ci_configured,
    "dependency_updates": dependency_updates,
    "code_owners": code_owners,
    "audit_trail": audit_trail,
    "no_terraform_state": no_terraform_state,
}

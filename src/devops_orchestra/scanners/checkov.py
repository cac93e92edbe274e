"""checkov on infrastructure as code: Terraform, Kubernetes manifests, Dockerfiles."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from devops_orchestra.core import toolchain
from devops_orchestra.core.proc import safe_arg
from devops_orchestra.core.workspace import Inventory, SourceFile
from devops_orchestra.models import Finding, Remediation, ScannerName
from devops_orchestra.scanners import catalog
from devops_orchestra.scanners.base import (
    ScanJob,
    ScanOutcome,
    SourceLines,
    make_finding,
    relative,
    run_json,
)

# The names checkov's dockerfile framework reads, even given --file (checkov/common/util/dockerfile.py).
CHECKOV_DOCKERFILE_NAME = re.compile(r"(?:.+\.)?[Dd]ockerfile(?:\..+)?")


def framework_of(f: SourceFile) -> str | None:
    """The checkov framework that checks a file (terraform, dockerfile, kubernetes), or None."""
    if f.language == "terraform":
        return "terraform"
    if f.language == "dockerfile":
        return "dockerfile"
    if f.is_kubernetes:
        return "kubernetes"
    return None


class CheckovScanner:
    """checkov on Terraform, Kubernetes manifests and Dockerfiles, in one process."""

    name: ScannerName = "checkov"
    single_process = True

    def select(self, inventory: Inventory) -> list[SourceFile]:
        return [f for f in inventory.files if framework_of(f)]

    def version(self) -> str | None:
        return toolchain.version("checkov")

    async def scan(self, job: ScanJob) -> ScanOutcome:
        frameworks = sorted({fw for f in job.files if (fw := framework_of(f))})
        renamed = [f for f in job.files if needs_alias(f)]
        with tempfile.TemporaryDirectory(prefix="devops-orchestra-checkov-") if renamed else nullcontext() as tmp:
            links = dockerfile_links(job.base, renamed, Path(tmp)) if tmp else {}
            by_rel = {rel: link for link, rel in links.items()}
            # --skip-download: no platform API offline; an explicit framework list: all frameworks
            # would also run `kubectl`. Exit 1 means checks failed, which is what we are here for.
            raw = await run_json("checkov", lambda exe: [
                exe, "--skip-download", "--quiet", "--compact", "--output", "json",
                "--framework", ",".join(frameworks),
                *(arg for f in job.files for arg in ("--file", by_rel.get(f.rel) or safe_arg(f.rel))),
            ], job, ok_exits=(0, 1), env={"LOG_LEVEL": "ERROR"})
        reports = raw if isinstance(raw, list) else [raw]
        # With --quiet checkov counts the files it could not parse but does not name them.
        warnings = [
            f"could not parse {n} {r.get('check_type', '')} file(s); their checks did not run"
            for r in reports if (n := (r.get("summary") or {}).get("parsing_errors"))
        ]
        return ScanOutcome(parse(raw, job.base, links), warnings)


def needs_alias(f: SourceFile) -> bool:
    """Whether a Dockerfile has a name checkov's dockerfile framework skips (Containerfile, Containerfile.web)."""
    return f.language == "dockerfile" and not CHECKOV_DOCKERFILE_NAME.fullmatch(Path(f.rel).name)


def dockerfile_links(base: Path, files: list[SourceFile], tmp: Path) -> dict[str, str]:
    """A link named Dockerfile in tmp to each of these files, for checkov to read: link path -> file's rel path."""
    links: dict[str, str] = {}
    tmp = tmp.resolve()  # checkov reports the absolute path it was given; parse looks it up as given here
    for i, f in enumerate(files):
        link = tmp / str(i) / "Dockerfile"
        link.parent.mkdir()
        link.symlink_to((base / f.rel).absolute())
        links[str(link)] = f.rel
    return links


def parse(
    raw: list[dict[str, Any]] | dict[str, Any], base: Path, links: Mapping[str, str] | None = None
) -> list[Finding]:
    """checkov prints a list for several frameworks, a dict for one, a bare summary for none.

    links: the paths of links checkov read instead of a file (see dockerfile_links) -> that file's rel path.
    """
    links = links or {}
    source = SourceLines(base)
    findings = []
    for report in raw if isinstance(raw, list) else [raw]:
        for hit in (report.get("results") or {}).get("failed_checks", []):
            check_id = str(hit["check_id"])
            known = catalog.entry("checkov", check_id)
            name = str(hit.get("check_name") or check_id)
            resource = str(hit.get("resource") or "")
            start, end = (hit.get("file_line_range") or [1, 1])[:2]
            link = str(hit.get("file_abs_path") or hit.get("file_path") or "")
            path = links.get(link) or relative(str(hit.get("repo_file_path") or hit["file_path"]), base)
            if link in links:  # "<link path>.FROM" reads, and is fingerprinted, like checkov's "<file>.FROM"
                resource = path + resource.removeprefix(link)
            findings.append(make_finding(
                scanner="checkov",
                rule_id=f"checkov:{check_id}",
                category=known.category if known else "iac-misconfiguration",
                severity=(known and known.severity) or catalog.default_severity("checkov", check_id),
                confidence="high",
                title=name,
                message=f"{resource}: fails {check_id} ({name}).",
                path=path,
                start_line=int(start or 1),
                end_line=int(end or start or 1),
                source=source,
                remediation=Remediation(
                    summary=" ".join(known.remediation.split()) if known and known.remediation
                    else f"Change {resource or 'the resource'} so that: {_as_goal(name)}.",
                    references=[hit["guideline"]] if hit.get("guideline") else [],
                ),
                cwe=known.cwe if known else None,
                fingerprint_context=f"{resource}\0{check_id}",
            ))
    return findings


def _as_goal(check_name: str) -> str:
    """'Ensure S3 bucket has versioning enabled' -> 'S3 bucket has versioning enabled'."""
    for prefix in ("Ensure that ", "Ensure "):
        if check_name.startswith(prefix):
            return check_name[len(prefix):].rstrip(".")
    return check_name.rstrip(".")

"""checkov on infrastructure as code: Terraform, Kubernetes manifests, Dockerfiles, GitHub Actions workflows."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import yaml

from devops_orchestra.core import toolchain
from devops_orchestra.core.paths import policies_dir
from devops_orchestra.core.proc import safe_arg
from devops_orchestra.core.workspace import Inventory, SourceFile, actions_kind
from devops_orchestra.models import Finding, Remediation, ScannerName, Severity
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
# Where a check on a whole step or job is about one line, the first line that matches what the check looks
# for (CKV_GHA_2 searches run: for these expressions), or the env: block above it: where zizmor reports the
# same problem, so that the two become one finding.
_LINE_OF: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {
    "CKV_GHA_1": (re.compile(r"^\s*ACTIONS_ALLOW_UNSECURE_COMMANDS\s*:"), re.compile(r"^\s*env\s*:\s*(#.*)?$")),
    "CKV_GHA_2": (re.compile(r"\$\{\{\s*github\.(event\.|head_ref)"), None),
}
_TOP_LEVEL_PERMISSIONS = re.compile(r"^permissions\s*:")
# Our own checks (policies/checkov/): checkov reports a container check on the whole resource; they say which
# env entry in evaluated_keys, read here for the entry's own lines.
OWN_CHECK_PREFIX = "CKV_DO_"
_ENV_ENTRY_KEY = re.compile(r"^(?P<entry>.+/env/\[\d+\])/value$")


def external_checks_dir() -> Path:
    """Our own checkov checks (CKV_DO_*), given to every checkov run with --external-checks-dir."""
    return policies_dir() / "checkov"


def framework_of(f: SourceFile) -> str | None:
    """The checkov framework that checks a file (terraform, dockerfile, kubernetes, github_actions), or None."""
    if f.language == "terraform":
        return "terraform"
    if f.language == "dockerfile":
        return "dockerfile"
    if f.is_kubernetes:
        return "kubernetes"
    if actions_kind(f.rel) == "workflow":  # checkov reads no action.yml
        return "github_actions"
    return None


class CheckovScanner:
    """checkov on Terraform, Kubernetes manifests, Dockerfiles and GitHub Actions workflows, in one process."""

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
                "--framework", ",".join(frameworks), "--external-checks-dir", str(external_checks_dir()),
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
    yaml_documents: dict[str, list[yaml.Node]] = {}  # each manifest composed once, not once per finding
    findings = []
    for report in raw if isinstance(raw, list) else [raw]:
        for hit in (report.get("results") or {}).get("failed_checks", []):
            check_id = str(hit["check_id"])
            known = catalog.entry("checkov", check_id)
            name = str(hit.get("check_name") or check_id)
            resource = str(hit.get("resource") or "")
            link = str(hit.get("file_abs_path") or hit.get("file_path") or "")
            path = links.get(link) or relative(str(hit.get("repo_file_path") or hit["file_path"]), base)
            if link in links:  # "<link path>.FROM" reads, and is fingerprinted, like checkov's "<file>.FROM"
                resource = path + resource.removeprefix(link)
            start, end = (int(n or 0) for n in (hit.get("file_line_range") or [1, 1])[:2])
            severity = (known and known.severity) or catalog.default_severity("checkov", check_id)
            message = f"{resource}: fails {check_id} ({name})."
            if check_id in _LINE_OF:
                start = end = _first_line(source, path, start, end, *_LINE_OF[check_id])
            if check_id.startswith(OWN_CHECK_PREFIX):
                start, end = _env_entry_lines(yaml_documents, source, path, start, hit) or (start, end)
            if check_id == "CKV2_GHA_1":
                start, end, severity, message = _top_level_permissions(source, path, severity, message)
            elif start == 0:  # a check on the whole file: checkov says line 0
                start, end, message = 1, 1, f"{message} checkov reports it for the whole file."
            elif check_id not in _LINE_OF and not check_id.startswith(OWN_CHECK_PREFIX):
                # checkov gives the whole resource: show the attribute it judged, or the resource's first line.
                # A graph check's (CKV2_) keys are its conditions as well (engine, resource_type): no pointer.
                keys = [] if check_id.startswith("CKV2_") else _keys(hit)
                start = end = _attribute_line(source, path, start, end, keys) or _first_code(source, path, start)
            findings.append(make_finding(
                scanner="checkov",
                rule_id=f"checkov:{check_id}",
                category=known.category if known else "iac-misconfiguration",
                severity=severity,
                confidence="high",
                title=name,
                message=message,
                path=path,
                start_line=start or 1,
                end_line=end or start or 1,
                source=source,
                remediation=Remediation(
                    summary=(known and known.remediation)
                    or f"Change {resource or 'the resource'} so that: {_as_goal(name)}.",
                    references=[hit["guideline"]] if hit.get("guideline") else [],
                ),
                cwe=known.cwe if known else None,
                # Ours report each offending line (checkov's resource, Dockerfile.ENV, repeats): the code,
                # secret values redacted, tells them apart.
                fingerprint_context=None if check_id.startswith(OWN_CHECK_PREFIX) else f"{resource}\0{check_id}",
                resource=resource or None,
            ))
    return findings


def _keys(hit: Mapping[str, Any]) -> list[str]:
    return [str(k) for k in (hit.get("check_result") or {}).get("evaluated_keys") or []]


def _attribute_line(source: SourceLines, path: str, start: int, end: int, keys: list[str]) -> int | None:
    """The line, within a resource, of the attribute checkov judged: the first of evaluated_keys that is there
    (checkov's order varies), e.g. `spec/template/spec/containers/[0]/securityContext/privileged`, each name
    found after its parent's line, as HCL `name =`/`name {`, YAML `name:` or JSON `"name":`. None when none is
    (the check wants one added)."""
    lines = source.lines(path)[:end]
    found = []
    for key in keys:
        names = [n for n in key.split("/") if n and not n.startswith("[") and n != "*" and "?" not in n]
        line = start - 1
        for name in names:
            pattern = re.compile(rf'^\s*(?:-\s*)?"?{re.escape(name)}"?\s*(?:=|:|\{{|$)')
            line = next((n for n in range(line + 1, len(lines) + 1) if pattern.match(lines[n - 1])), 0)
            if not line:
                break
        if names and line:
            found.append(line)
    return min(found, default=None)


def _first_code(source: SourceLines, path: str, start: int) -> int:
    """The resource's first line that is not blank or a comment (checkov starts a Dockerfile at line 1)."""
    lines = source.lines(path)
    return next((n for n in range(start, len(lines) + 1) if lines[n - 1].strip()
                 and not lines[n - 1].lstrip().startswith("#")), start)


def _env_entry_lines(documents: dict[str, list[yaml.Node]], source: SourceLines, path: str, start: int,
                     hit: Mapping[str, Any]) -> tuple[int, int] | None:
    """The lines of the container env entry a check names in evaluated_keys (env/[i]/value), from its - name:
    to its value:, in the YAML document that starts at the resource's first line; None when not found."""
    match = next((m for k in _keys(hit) if (m := _ENV_ENTRY_KEY.match(k))), None)
    if match is None:
        return None
    if path not in documents:
        try:
            documents[path] = [d for d in yaml.compose_all("\n".join(source.lines(path)), Loader=yaml.SafeLoader)
                               if d is not None]
        except yaml.YAMLError:
            documents[path] = []
    node = next((d for d in documents[path] if d.start_mark.line < start <= d.end_mark.line + 1), None)
    for part in match["entry"].split("/"):
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and part.startswith("[") and part[1:-1].isdigit():
            index = int(part[1:-1])
            node = node.value[index] if index < len(node.value) else None
        else:
            return None
    if not isinstance(node, yaml.MappingNode):
        return None
    end = next((v for k, v in node.value if k.value == "value"), node).end_mark
    return node.start_mark.line + 1, end.line + (1 if end.column else 0)  # a block scalar ends at column 0


def _as_goal(check_name: str) -> str:
    """'Ensure S3 bucket has versioning enabled' -> 'S3 bucket has versioning enabled'."""
    for prefix in ("Ensure that ", "Ensure "):
        if check_name.startswith(prefix):
            return check_name[len(prefix):].rstrip(".")
    return check_name.rstrip(".")


def _first_line(source: SourceLines, path: str, start: int, end: int, pattern: re.Pattern[str],
                block: re.Pattern[str] | None) -> int:
    """The first line from start to end that matches pattern (or the nearest line above it, not above start,
    that matches block), else start."""
    lines = source.lines(path)
    hit = next((n for n in range(max(1, start), min(end, len(lines)) + 1) if pattern.search(lines[n - 1])), None)
    if hit is None or block is None:
        return start if hit is None else hit
    return next((n for n in range(hit, max(1, start) - 1, -1) if block.match(lines[n - 1])), hit)


def _top_level_permissions(source: SourceLines, path: str, severity: Severity,
                           message: str) -> tuple[int, int, Severity, str]:
    """Where CKV2_GHA_1 (top-level permissions missing or write-all) belongs, and what it says. checkov's
    line is not it: line 0 when nothing is found, else the first permissions: of any job if the top has none."""
    top = next((n for n, text in enumerate(source.lines(path), 1) if _TOP_LEVEL_PERMISSIONS.match(text)), None)
    if top is None:  # graded as zizmor grades a missing block: the default token is read-write only on some repos
        return 1, 1, Severity.medium if severity.rank > Severity.medium.rank else severity, (
            "The workflow has no top-level permissions: block, so every job without its own gets the repository's "
            "default GITHUB_TOKEN permissions (read-write on older repositories and organisations): add one after "
            "on:, e.g. permissions: {} or contents: read.")
    if "write-all" in source.lines(path)[top - 1]:
        message = ("permissions: write-all at the top of the workflow gives every job every scope of the "
                   "GITHUB_TOKEN (contents, packages, actions, id-token...).")
    return top, top, severity, message

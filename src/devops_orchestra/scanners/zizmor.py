"""zizmor on GitHub Actions workflows and action definitions: template injection, dangerous triggers,
excessive permissions, unpinned actions, persisted credentials. Offline, always."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import yaml

from devops_orchestra.core import toolchain
from devops_orchestra.core.errors import ScannerFailed, ScannerUnavailable
from devops_orchestra.core.workspace import Inventory, SourceFile, actions_kind
from devops_orchestra.models import Finding, Remediation, ScannerName, Severity
from devops_orchestra.scanners import catalog
from devops_orchestra.scanners.base import (
    ScanJob,
    ScanOutcome,
    SourceLines,
    as_confidence,
    batches,
    file_args,
    make_finding,
    relative,
)

# zizmor reads a GitHub token from these; offline it needs none, and an empty one is an error at start.
TOKEN_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")
_SEVERITY = {"informational": Severity.info, "low": Severity.low, "medium": Severity.medium, "high": Severity.high}
# The files zizmor could not read (its other warnings are about its own analysis, e.g. an unknown shell).
_WARNING = re.compile(r"\bWARN\b.*?\b(?P<text>failed to (?:parse|validate|load) .*)")
_UNNAMED_PARSE_FAILURE = "failed to parse input"
# A checkout of the pull request's (or triggering run's) own code: in a pull_request_target or workflow_run
# workflow, the steps after it run a fork's code with this repository's secrets and token.
_HEAD_CHECKOUT = re.compile(
    r"""^\s*ref:\s*['"]?(\$\{\{\s*github\.(head_ref|event\.pull_request\.head\.\w+|event\.workflow_run\.head_\w+)\b"""
    r"|refs/pull/\$\{\{\s*github\.event\.(pull_request\.)?number\b)")


class ZizmorScanner:
    """zizmor on GitHub Actions workflows and action.yml files, offline, in one process (it takes < 1 s)."""

    name: ScannerName = "zizmor"
    single_process = True

    def select(self, inventory: Inventory) -> list[SourceFile]:
        return [f for f in inventory.files if actions_kind(f.rel)]

    def version(self) -> str | None:
        return toolchain.version("zizmor")

    async def scan(self, job: ScanJob) -> ScanOutcome:
        exe = toolchain.executable("zizmor")
        if exe is None:
            raise ScannerUnavailable("zizmor is not installed: reinstall devops-orchestra")
        raw: list[dict[str, Any]] = []
        warnings: list[str] = []
        for batch in batches(job.files, 1):  # one process; more only if the paths overflow a command line
            result = await job.runner(command(str(exe), batch), cwd=job.base, timeout_s=job.timeout_s,
                                      nice=job.nice)
            stderr = result.stderr.decode("utf-8", "replace")
            said = [m["text"].replace("file://", "").strip() for m in _WARNING.finditer(stderr)]
            if any(_UNNAMED_PARSE_FAILURE in w for w in said):  # zizmor does not say which file: find it
                named = await asyncio.to_thread(yaml_errors, job.base, batch)
                said = [w for w in said if _UNNAMED_PARSE_FAILURE not in w] + named
            warnings += said
            if result.returncode == 3 and "no inputs collected" in stderr:
                continue  # none of these files is a valid workflow or action; the warnings say why
            if result.returncode != 0:
                raise ScannerFailed(f"zizmor exited {result.returncode}: {result.stderr_tail()}")
            try:
                raw += json.loads(result.stdout)
            except ValueError as exc:
                raise ScannerFailed(f"zizmor printed no JSON: {result.stderr_tail()}") from exc
        return ScanOutcome(parse(raw, job.base), warnings)


def command(exe: str, files: list[SourceFile]) -> list[str]:
    """zizmor's argv: offline, without a GitHub token or any configuration file, JSON, exit 0 on findings.

    --no-config: zizmor would look for a zizmor.yml up to the filesystem root, outside the scanned
    directory; without it, findings depend on the file alone (the scan cache keys on content) and
    `# zizmor: ignore[audit]` comments in the file still apply. The pedantic persona only to keep one
    of its findings (see keep); the rest is filtered back to zizmor's regular persona.
    """
    unset = [arg for name in TOKEN_VARIABLES for arg in ("-u", name)]
    return ["env", *unset, exe, "--offline", "--no-config", "--persona", "pedantic", "--format", "json-v1",
            "--no-exit-codes", "--no-progress", "--color", "never", "--quiet", *file_args(files)]


def keep(hit: dict[str, Any]) -> bool:
    """zizmor's regular persona, plus top-level `permissions: write-all`, which zizmor calls pedantic in a
    workflow of one job (though that job inherits it) and checkov's CKV2_GHA_1 reports too."""
    determinations = hit.get("determinations") or {}
    if hit.get("ignored"):
        return False
    if determinations.get("persona") == "Regular":
        return True
    primary = _primary(hit)
    route = ((primary or {}).get("symbolic") or {}).get("route", {}).get("route")
    return (hit.get("ident") == "excessive-permissions" and determinations.get("severity") == "High"
            and route == [{"Key": "permissions"}])


def parse(raw: list[dict[str, Any]], base: Path) -> list[Finding]:
    """Findings from zizmor's JSON (v1): each at its primary location, with category, CWE and advice from our
    catalogue; severity and confidence are zizmor's own, graded per finding."""
    source = SourceLines(base)
    findings = []
    for hit in raw:
        location = _primary(hit)
        if not keep(hit) or location is None:
            continue
        local = (location["symbolic"].get("key") or {}).get("Local")
        if not local:
            continue  # a remote input: never given here
        ident = str(hit["ident"])
        known = catalog.entry("zizmor", ident)
        path = relative(str(local["verbatim_path"]), base)
        start, end = location["concrete"]["location"]["start_point"], location["concrete"]["location"]["end_point"]
        end_line = end["row"] + (0 if end["column"] == 0 and end["row"] > start["row"] else 1)  # past the block
        fragment = _fragment(location)
        determinations = hit.get("determinations") or {}
        severity = _SEVERITY.get(str(determinations.get("severity")).lower()) or \
            (known and known.severity) or Severity.medium
        confidence = as_confidence(determinations.get("confidence"))
        desc = str(hit.get("desc") or ident)
        title = desc[:1].upper() + desc[1:]
        annotation = str(location["symbolic"].get("annotation") or "").strip()
        message = f"{title}: {annotation}" + (f" (`{fragment}`)" if fragment else "") + "."
        checkout = _head_checkout(source.lines(path)) if ident == "dangerous-triggers" else None
        if checkout:  # zizmor 1.33.1 says "almost always used insecurely"; this one is, so we say how
            severity, confidence = Severity.critical, "high"
            message += (f" Line {checkout} checks out the pull request's own code: every step after it runs code "
                        "any fork can write, with this repository's secrets and token (a \"pwn request\").")
        snippet = source.get(path, start["row"] + 1, end_line)
        findings.append(make_finding(
            scanner="zizmor",
            rule_id=f"zizmor:{ident}",
            category=known.category if known else "insecure-config",
            severity=severity,
            confidence=confidence,
            title=title,
            message=message,
            path=path,
            start_line=start["row"] + 1,
            end_line=end_line,
            start_column=start["column"] + 1,
            end_column=end["column"] + 1 if end["row"] == start["row"] else None,
            source=source,
            remediation=Remediation(
                summary=(known and known.remediation) or f"{message} See zizmor's documentation of {ident}.",
                fix=_fix(ident, fragment),
                references=[str(hit["url"])] if hit.get("url") else [],
            ),
            cwe=known.cwe if known else None,
            owasp=known.owasp if known else None,
            # Two expressions on one line are two findings.
            fingerprint_context=f"{snippet}\0{fragment}" if fragment else None,
        ))
    return findings


def yaml_errors(base: Path, files: list[SourceFile]) -> list[str]:
    """Which of these files are not YAML, and why: zizmor says one failed to parse, not which."""
    errors = []
    for f in files:
        try:
            list(yaml.load_all((base / f.rel).read_text(encoding="utf-8"),
                               Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
        except yaml.MarkedYAMLError as exc:
            line = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
            errors.append(f"could not parse {f.rel}{line}: {exc.problem}; zizmor did not check it")
        except (OSError, yaml.YAMLError) as exc:
            errors.append(f"could not parse {f.rel}: {exc}; zizmor did not check it")
    return errors


def _head_checkout(lines: list[str]) -> int | None:
    """The line of a checkout of the triggering pull request's or run's head, if the workflow has one."""
    return next((n for n, text in enumerate(lines, 1) if _HEAD_CHECKOUT.match(text)), None)


def _primary(hit: dict[str, Any]) -> dict[str, Any] | None:
    locations = [loc for loc in hit.get("locations") or [] if loc.get("concrete") and loc.get("symbolic")]
    return next((loc for loc in locations if loc["symbolic"].get("kind") == "Primary"), None) or \
        (locations[0] if locations else None)


def _fragment(location: dict[str, Any]) -> str | None:
    """The exact text zizmor points at inside the line ('github.event.issue.title', 'someone/action@v1')."""
    kind = location["symbolic"].get("feature_kind")
    if isinstance(kind, dict):
        raw = ((kind.get("Subfeature") or {}).get("fragment") or {}).get("Raw")
        return str(raw) if raw else None
    return None


def _fix(ident: str, fragment: str | None) -> str | None:
    """The change to make, where the finding alone says what it is."""
    if ident == "template-injection" and fragment:
        name = re.sub(r"[^A-Z0-9]+", "_", ".".join(fragment.split(".")[-2:]).upper()).strip("_") or "VALUE"
        return f"env:\n  {name}: ${{{{ {fragment} }}}}\nrun: ... \"${name}\" ...  # in place of ${{{{ {fragment} }}}}"
    if ident == "unpinned-uses" and fragment and "@" in fragment:
        action, ref = fragment.rsplit("@", 1)
        return f"uses: {action}@<40-character commit SHA of {ref}>  # {ref}"
    if ident == "artipacked":
        return "with:\n  persist-credentials: false"
    return None

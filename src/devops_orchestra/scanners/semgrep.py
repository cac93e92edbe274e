"""semgrep on our own rule pack (policies/semgrep), offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from devops_orchestra.core import toolchain
from devops_orchestra.core.paths import policies_dir
from devops_orchestra.core.workspace import Inventory, SourceFile
from devops_orchestra.models import Finding, Remediation, ScannerName, Severity
from devops_orchestra.scanners.base import (
    ScanJob,
    ScanOutcome,
    SourceLines,
    as_confidence,
    file_args,
    make_finding,
    normalise_cwe,
    run_json_batches,
)

LANGUAGES = ("python", "javascript", "typescript", "go", "java")
_SEVERITY = {"ERROR": Severity.high, "WARNING": Severity.medium, "INFO": Severity.low}


class SemgrepRider(Protocol):
    """Another agent whose rules run in the security scan's semgrep processes: one start serves both."""

    def configs(self) -> tuple[Path, ...]:
        """The rule files or directories to run beside ours."""
        ...

    def take(self, raws: list[dict[str, Any]], files: list[SourceFile]) -> list[dict[str, Any]]:
        """Keep what semgrep printed for files; return it without the rider's own results."""
        ...


class SemgrepScanner:
    """semgrep with our rule pack on Python, JavaScript/TypeScript, Go and Java; a rider's rules run in it too."""

    name: ScannerName = "semgrep"
    single_process = False

    def __init__(self, rider: SemgrepRider | None = None) -> None:
        self.rider = rider

    def select(self, inventory: Inventory) -> list[SourceFile]:
        return inventory.with_language(*LANGUAGES)

    def version(self) -> str | None:
        return toolchain.version("semgrep")

    async def scan(self, job: ScanJob) -> ScanOutcome:
        # --experimental is the OCaml engine: 0.1 s start instead of 1.6 s, same findings on our rules
        # (tests/integration/test_semgrep_rules.py checks both). It scans exactly the files we name, tests included.
        configs = (policies_dir() / "semgrep", *(self.rider.configs() if self.rider else ()))
        raws = await run_json_batches("semgrep", lambda exe, files: command(exe, files, *configs), job, ok_exits=(0, 1))
        if self.rider:
            raws = self.rider.take(raws, job.files)
        raw = {"results": [r for raw in raws for r in raw.get("results", [])],
               "errors": [e for raw in raws for e in raw.get("errors", [])]}
        warnings = [warning(e) for e in raw.get("errors", [])]
        return ScanOutcome(parse(raw, job.base), warnings)


def command(exe: str, files: list[SourceFile], *configs: Path) -> list[str]:
    """semgrep's argv: offline, JSON, one job per process (we run several processes instead)."""
    return [exe, "scan", "--experimental", "--json", "--metrics=off", "--disable-version-check", "--quiet",
            "--jobs", "1", "--timeout", "30", *(a for c in configs for a in ("--config", str(c))), *file_args(files)]


def warning(error: dict[str, Any]) -> str:
    """semgrep's error record (type is a name, or [name, spans]) as one line."""
    kind = error.get("type", "error")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    message = " ".join(str(error.get("message", "")).split())[:200]
    return f"{kind} in {error.get('path', '?')}: {message}"


def parse(raw: dict[str, Any], base: Path) -> list[Finding]:
    """Findings from semgrep's JSON output (our rules carry category, severity and CWE as metadata)."""
    source = SourceLines(base)
    findings = []
    for hit in raw.get("results", []):
        extra = hit.get("extra", {})
        meta = extra.get("metadata", {})
        rule = str(hit["check_id"]).rsplit(".", 1)[-1]  # drop the rules directory prefix
        path = str(hit["path"]).removeprefix("./")
        message = " ".join(str(extra.get("message", "")).split())
        findings.append(make_finding(
            scanner="semgrep",
            rule_id=f"semgrep:{rule}",
            category=meta.get("category", "other"),
            severity=Severity.parse(meta.get("severity"), _SEVERITY.get(extra.get("severity"), Severity.medium)),
            confidence=as_confidence(meta.get("confidence")),
            title=message.split(". ")[0].rstrip(".") if message else rule,
            message=message,
            path=path,
            start_line=hit["start"]["line"],
            end_line=hit["end"]["line"],
            start_column=hit["start"].get("col"),
            end_column=hit["end"].get("col"),
            source=source,
            remediation=Remediation(
                summary=" ".join(str(meta.get("remediation") or message).split()),
                references=list(meta.get("references") or []),
            ),
            cwe=normalise_cwe(meta.get("cwe")),
            owasp=_first(meta.get("owasp")),
        ))
    return findings


def _first(value: object) -> str | None:
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value) if value else None

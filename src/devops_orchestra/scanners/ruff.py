"""ruff, for the Python errors that break at run time only: undefined names (F821-F823), syntax errors,
`return`/`yield`/`break` where they cannot be (F7xx), always-true asserts and `is` on literals (F63x), and
pylint's errors (PLE). The repository's own ruff configuration is not read: these are never a matter of style."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devops_orchestra.core import toolchain
from devops_orchestra.core.workspace import Inventory, SourceFile
from devops_orchestra.models import Finding, Remediation, ScannerName, Severity
from devops_orchestra.scanners.base import (
    ScanJob,
    ScanOutcome,
    SourceLines,
    file_args,
    make_finding,
    relative,
    run_json,
)

SELECT = "F821,F822,F823,F63,F7,PLE"
TARGET = "py314"  # the newest syntax counts as syntax; older targets would call a match statement an error


class RuffScanner:
    name: ScannerName = "ruff"
    single_process = False

    def select(self, inventory: Inventory) -> list[SourceFile]:
        return inventory.with_language("python")

    def version(self) -> str | None:
        return toolchain.version("ruff")

    async def scan(self, job: ScanJob) -> ScanOutcome:
        raw = await run_json("ruff", lambda exe: [
            exe, "check", "--isolated", "--select", SELECT, "--target-version", TARGET, "--output-format", "json",
            "--no-cache", "--exit-zero", "--", *file_args(job.files)], job)
        return ScanOutcome(parse(raw, job.base))


def parse(raw: list[dict[str, Any]], base: Path) -> list[Finding]:
    source = SourceLines(base)
    findings = []
    for hit in raw:
        code = hit.get("code") or "syntax-error"
        start, end = hit.get("location") or {}, hit.get("end_location") or {}
        fix = (hit.get("fix") or {}).get("message")
        message = str(hit.get("message", ""))
        findings.append(make_finding(
            scanner="ruff", rule_id=f"ruff:{code}", category="code-error", severity=Severity.high,
            confidence="high", title=str(hit.get("name") or "Syntax error").replace("-", " ").capitalize(),
            message=f"{message}: this fails when the line runs", path=relative(str(hit.get("filename", "")), base),
            start_line=int(start.get("row") or 1), end_line=int(end.get("row") or start.get("row") or 1),
            start_column=start.get("column"), source=source,
            remediation=Remediation(summary=fix or _ADVICE.get(code[:4], "Fix the code the message names."),
                                    references=[hit["url"]] if hit.get("url") else []),
        ))
    return findings


_ADVICE = {
    "F821": "Define the name, import it, or correct its spelling.",
    "F822": "Remove the name from __all__ or define it in the module.",
    "F823": "Assign the local before reading it, or declare it global/nonlocal.",
    "synt": "Correct the syntax at the position given.",
}

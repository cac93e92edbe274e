"""bandit on Python files, sharded across the cores by file batches."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from devops_orchestra import catalog, toolchain
from devops_orchestra.errors import ScannerFailed, ScannerUnavailable
from devops_orchestra.models import Finding, Remediation, Severity
from devops_orchestra.proc import run, safe_arg
from devops_orchestra.scanners.base import (
    ScanJob,
    ScanOutcome,
    SourceLines,
    batches,
    make_finding,
    normalise_cwe,
    relative,
)
from devops_orchestra.workspace import Inventory, SourceFile


class BanditScanner:
    name = "bandit"

    def select(self, inventory: Inventory) -> list[SourceFile]:
        return inventory.with_language("python")

    def version(self) -> str | None:
        return toolchain.version("bandit")

    async def scan(self, job: ScanJob) -> ScanOutcome:
        exe = toolchain.executable("bandit")
        if exe is None:
            raise ScannerUnavailable("bandit is not installed: reinstall devops-orchestra")
        # bandit uses one core; one process per batch uses them all.
        raws = await asyncio.gather(*(self._run(exe, job, batch) for batch in batches(job.files, job.cores)))
        merged: dict[str, Any] = {"results": [], "errors": []}
        for raw in raws:
            merged["results"] += raw.get("results", [])
            merged["errors"] += raw.get("errors", [])
        warnings = [
            f"could not parse {relative(e['filename'], job.base)}: {str(e.get('reason', '')).strip()}"
            for e in merged["errors"]
        ]
        return ScanOutcome(parse(merged, job.base), warnings)

    async def _run(self, exe: Path, job: ScanJob, files: list[SourceFile]) -> dict[str, Any]:
        argv = [str(exe), "--format", "json", "--quiet", *(safe_arg(f.rel) for f in files)]
        result = await run(argv, cwd=job.base, timeout_s=job.timeout_s)
        # 0: nothing found, 1: issues found; anything else is bandit failing.
        if result.returncode not in (0, 1):
            raise ScannerFailed(f"bandit exited {result.returncode}: {result.stderr_tail()}")
        try:
            return json.loads(result.stdout)  # type: ignore[no-any-return]
        except ValueError as exc:
            raise ScannerFailed(f"bandit printed no JSON: {result.stderr_tail()}") from exc


def parse(raw: dict[str, Any], base: Path) -> list[Finding]:
    source = SourceLines(base)
    findings = []
    for hit in raw.get("results", []):
        test_id = hit["test_id"]
        known = catalog.entry("bandit", test_id)
        path = relative(hit["filename"], base)
        lines = hit.get("line_range") or [hit["line_number"]]
        text = str(hit["issue_text"]).strip()
        findings.append(make_finding(
            scanner="bandit",
            rule_id=f"bandit:{test_id}",
            category=known.category if known else "other",
            severity=(known and known.severity) or Severity.parse(hit["issue_severity"], Severity.medium),
            confidence=str(hit.get("issue_confidence", "medium")).lower(),  # type: ignore[arg-type]
            title=f"{hit.get('test_name', test_id).replace('_', ' ')}".capitalize(),
            message=text,
            path=path,
            start_line=hit["line_number"],
            end_line=max(lines),
            start_column=(hit.get("col_offset") or 0) + 1,
            source=source,
            remediation=Remediation(
                summary=" ".join(known.remediation.split()) if known and known.remediation else text,
                references=[hit["more_info"]] if hit.get("more_info") else [],
            ),
            cwe=(known and known.cwe) or normalise_cwe(hit.get("issue_cwe")),
        ))
    return findings


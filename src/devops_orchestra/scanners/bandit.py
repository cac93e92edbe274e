"""bandit on Python files, sharded across the cores by file batches."""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from devops_orchestra.core import toolchain
from devops_orchestra.core.workspace import Inventory, SourceFile
from devops_orchestra.models import Finding, Remediation, ScannerName, Severity
from devops_orchestra.scanners import catalog
from devops_orchestra.scanners.base import (
    ScanJob,
    ScanOutcome,
    SourceLines,
    as_confidence,
    file_args,
    make_finding,
    normalise_cwe,
    relative,
    run_json_batches,
)

FAST_ENTRY = Path(__file__).parent / "entrypoints" / "bandit_fast.py"


class BanditScanner:
    """bandit on Python files, in batches across the cores; test code is not checked for assert."""

    name: ScannerName = "bandit"
    single_process = False

    def select(self, inventory: Inventory) -> list[SourceFile]:
        return inventory.with_language("python")

    def version(self) -> str | None:
        return toolchain.version("bandit")

    async def scan(self, job: ScanJob) -> ScanOutcome:
        # Test code is not checked for `assert` (B101): there it is how tests work, and a big suite has
        # tens of thousands of them. bandit takes the test files as its assert check's skip patterns.
        skips = [_literal_pattern(f"./{f.rel}") for f in job.files if f.is_test]  # as bandit names them
        with tempfile.TemporaryDirectory(prefix="devops-orchestra-bandit-") as tmp:
            config = Path(tmp) / "bandit.yaml"
            config.write_text(json.dumps({"assert_used": {"skips": skips}}))  # JSON is YAML
            # bandit's own command line, through bandit_fast.py: same arguments, same output, less CPU.
            raws = await run_json_batches("bandit", lambda _, files: [
                sys.executable, str(FAST_ENTRY), "--format", "json", "--quiet", "--configfile", str(config),
                *file_args(files),
            ], job, ok_exits=(0, 1))  # 1: it found something
        results = [hit for raw in raws for hit in raw.get("results", [])]
        warnings = [
            f"could not parse {relative(e['filename'], job.base)}: {str(e.get('reason', '')).strip()}"
            for raw in raws for e in raw.get("errors", [])
        ]
        return ScanOutcome(parse({"results": results}, job.base), warnings)


def _title(hit: dict[str, Any], text: str) -> str:
    """bandit's test name, except for its blacklist tests, all named 'blacklist': their text says more."""
    name = str(hit.get("test_name") or hit["test_id"])
    if name == "blacklist":
        return text.removesuffix(".").removesuffix(", possible security issue")
    return name.replace("_", " ").capitalize()


def _literal_pattern(path: str) -> str:
    """An fnmatch pattern matching exactly this path."""
    return re.sub(r"([*?\[])", r"[\1]", path)


def parse(raw: dict[str, Any], base: Path) -> list[Finding]:
    """Findings from bandit's JSON output, with category, severity and advice from our catalogue where it has them."""
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
            confidence=as_confidence(hit.get("issue_confidence")),
            title=_title(hit, text),
            message=text,
            path=path,
            start_line=hit["line_number"],
            end_line=max(lines),
            start_column=(hit.get("col_offset") or 0) + 1,
            source=source,
            remediation=Remediation(
                summary=(known and known.remediation) or text,
                references=[hit["more_info"]] if hit.get("more_info") else [],
            ),
            cwe=(known and known.cwe) or normalise_cwe(hit.get("issue_cwe")),
        ))
    return findings


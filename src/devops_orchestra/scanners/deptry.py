"""deptry: the imports of a Python project against the dependencies it declares (pyproject.toml, requirements
files): missing (DEP001), unused (DEP002), transitive (DEP003), dev-only imported at run time (DEP004).

It runs with the repository's own Python (its .venv, the active one, or python3), our deptry lent to it, so
that the package names behind the imports are those of the repository's environment, not ours.
"""

from __future__ import annotations

import json
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from devops_orchestra.core.environments import lend, repository_python
from devops_orchestra.core.errors import ScannerFailed
from devops_orchestra.core.workspace import Inventory, SourceFile
from devops_orchestra.models import Finding, Remediation, ScannerName, Severity
from devops_orchestra.scanners.base import ScanJob, ScanOutcome, SourceLines, make_finding

DECLARATIONS = ("pyproject.toml", "requirements.txt", "requirements.in")
# deptry's modules and the packages it imports; tomli (which deptry 0.25 imports below Python 3.15) is compiled
# by mypyc against a module of its own, so the repository's Python gets the standard library's tomllib as tomli.
LENT = ["deptry", "click", "packaging", "requirements"]
TOMLI = "from tomllib import *  # noqa: F403  (Python 3.11+)\n"
RULES: dict[str, tuple[Severity, str, str]] = {  # code -> severity, title, fix
    "DEP001": (Severity.high, "Imported module missing from the dependencies",
               "Add the package that provides it to the project's dependencies ({declared}); a fresh install "
               "fails with ImportError without it."),
    "DEP002": (Severity.low, "Declared dependency never imported",
               "Remove it from {declared} if nothing needs it (a plugin or a driver loaded by name may: then "
               "tell deptry with per_rule_ignores)."),
    "DEP003": (Severity.medium, "Imported module is only a transitive dependency",
               "Declare it in {declared}: it is installed only because another package needs it, and goes "
               "when that package stops needing it."),
    "DEP004": (Severity.medium, "Development dependency imported by the application",
               "Move it from the development dependencies to the run-time ones in {declared}, or stop "
               "importing it outside tests."),
}


def declarations(base: Path) -> list[str]:
    return [name for name in DECLARATIONS if (base / name).is_file()]


class DeptryScanner:
    name: ScannerName = "deptry"
    single_process = True

    def select(self, inventory: Inventory) -> list[SourceFile]:
        """The Python files, when the project declares its dependencies somewhere deptry reads."""
        if not declarations(inventory.base):
            return []
        return inventory.with_language("python")

    def version(self) -> str | None:
        try:
            return metadata.version("deptry")
        except metadata.PackageNotFoundError:
            return None

    async def scan(self, job: ScanJob) -> ScanOutcome:
        with tempfile.TemporaryDirectory(prefix="devops-orchestra-deptry-") as tmp:
            site = lend(Path(tmp) / "site", LENT)
            (site / "tomli.py").write_text(TOMLI, encoding="utf-8")
            out = Path(tmp) / "deptry.json"
            argv = [repository_python(job.base), "-m", "deptry", ".", "--json-output", str(out), "--no-ansi"]
            done = await job.runner(argv, cwd=job.base, timeout_s=job.timeout_s, env={"PYTHONPATH": str(site)},
                                    nice=job.nice)
            if not out.is_file():
                raise ScannerFailed(f"deptry exited {done.returncode} without a report: {done.stderr_tail()}")
            raw = json.loads(out.read_text(encoding="utf-8"))
        return ScanOutcome(parse(raw, job.base))


def parse(raw: list[dict[str, Any]], base: Path) -> list[Finding]:
    source = SourceLines(base)
    declared = " or ".join(declarations(base)) or "the dependency file"
    # A package deptry cannot find installed is assumed to provide a module of its own name: an import of `bs4`
    # with beautifulsoup4 declared then reads as one missing and one unused. Such a pair is not certain.
    unused = [str(h.get("module")) for h in raw if h.get("error", {}).get("code") == "DEP002"]
    findings = []
    for hit in raw:
        code = str(hit.get("error", {}).get("code", ""))
        doubt = code == "DEP001" and unused
        severity, title, fix = RULES.get(code, (Severity.low, "Dependency issue", "See deptry's documentation."))
        location = hit.get("location") or {}
        path = str(location.get("file") or declared.split(" or ")[0]).removeprefix("./")
        line = int(location.get("line") or 1)
        module = str(hit.get("module", ""))
        findings.append(make_finding(
            scanner="deptry", rule_id=f"deptry:{code}", category="dependency", severity=severity,
            confidence="low" if doubt else "high" if code in ("DEP001", "DEP004") else "medium", title=title,
            message=str(hit.get("error", {}).get("message", module)) + (
                f" (unless {', '.join(unused[:3])} provides it under another name: with the project's environment "
                "installed in .venv the names are matched)" if doubt else ""),
            path=path, start_line=line, end_line=line,
            start_column=location.get("column"), source=source, fingerprint_context=f"{code}:{module}",
            remediation=Remediation(summary=fix.format(declared=declared),
                                    references=[f"https://deptry.com/rules-violations/#{code.lower()}"]),
        ))
    return findings

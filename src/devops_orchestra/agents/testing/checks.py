"""The code checks that catch what breaks before any test runs: modules imported but not declared (deptry),
Python errors at run time (ruff's undefined names and syntax errors), and the repository's own ESLint errors
where it configures ESLint. Each scanner's run is data in the report; one that fails loses no other's findings."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from devops_orchestra.agents.runs import rank_key
from devops_orchestra.agents.security import cores
from devops_orchestra.core.errors import ScannerFailed, ScannerTimeout, ScannerUnavailable
from devops_orchestra.core.workspace import Inventory
from devops_orchestra.models import Finding, ScannerRun
from devops_orchestra.scanners.base import ScanJob, Scanner
from devops_orchestra.scanners.deptry import DeptryScanner
from devops_orchestra.scanners.eslint import EslintScanner
from devops_orchestra.scanners.ruff import RuffScanner

CHECKS: tuple[Scanner, ...] = (DeptryScanner(), RuffScanner(), EslintScanner())
TIMEOUT_S = 300.0
_NOTHING = {"deptry": "no pyproject.toml or requirements.txt declares the dependencies",
            "ruff": "no Python files", "eslint": "the repository configures no ESLint"}


async def code_checks(target: Path, inventory: Inventory) -> tuple[list[Finding], list[ScannerRun]]:
    """Every check that applies, at once: their findings (worst first) and how each ran."""
    done = await asyncio.gather(*(_one(scanner, target, inventory) for scanner in CHECKS))
    findings = sorted((f for found, _ in done for f in found), key=rank_key)
    return findings, [run for _, run in done]


async def _one(scanner: Scanner, target: Path, inventory: Inventory) -> tuple[list[Finding], ScannerRun]:
    started = time.perf_counter()
    files = scanner.select(inventory)

    def run(status: str, error: str | None = None, found: int = 0) -> ScannerRun:
        return ScannerRun.model_validate({"name": scanner.name, "version": scanner.version(), "status": status,
                                          "error": error, "files": len(files), "findings": found,
                                          "duration_s": round(time.perf_counter() - started, 2)})

    if not files:
        return [], run("skipped", _NOTHING[scanner.name])
    try:
        # beside the tests, at a lower priority: the suite gets the CPU first
        outcome = await scanner.scan(ScanJob(base=target, files=files, cores=cores(), timeout_s=TIMEOUT_S, nice=10))
    except ScannerUnavailable as exc:
        return [], run("unavailable", str(exc))
    except ScannerTimeout as exc:
        return [], run("timeout", str(exc))
    except ScannerFailed as exc:
        return [], run("failed", str(exc))
    return outcome.findings, run("ok", found=len(outcome.findings))

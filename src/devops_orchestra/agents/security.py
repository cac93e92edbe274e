"""The security agent: pick the scanners that apply, run them at once, merge what they say."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sqlite3
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import structlog

from devops_orchestra.agents.runs import (
    CONFIDENCE_RANK,
    Progress,
    judge_test_code,
    new_run_id,
    rank_key,
    recorded,
)
from devops_orchestra.core import proc
from devops_orchestra.core.cache import ScanCache, keys_for
from devops_orchestra.core.errors import ScannerFailed, ScannerTimeout, ScannerUnavailable
from devops_orchestra.core.proc import Runner
from devops_orchestra.core.store import Store
from devops_orchestra.core.workspace import Inventory, build_inventory, changed_files
from devops_orchestra.models import Finding, ScannerRun, SecurityReport, Severity
from devops_orchestra.models.requests import SecurityScanRequest
from devops_orchestra.scanners import ALL
from devops_orchestra.scanners.base import ScanJob, Scanner, ScanOutcome

log = structlog.get_logger(__name__)

SCANNERS = tuple(ALL)
SHARED_NICE = 10  # a scanner spread over all cores yields to those that run in one process

# When two scanners report one problem, the more specific source leads.
_SOURCE_RANK = {"semgrep": 3, "bandit": 2, "zizmor": 2, "checkov": 1, "secrets": 0, "deps": 0}
_NOTHING_TO_SCAN = {
    "semgrep": "no Python, JavaScript/TypeScript, Go or Java files",
    "bandit": "no Python files",
    "secrets": "no text files",
    "checkov": "no Terraform, Kubernetes, Dockerfile or GitHub Actions workflow files",
    "zizmor": "no GitHub Actions workflows (.github/workflows/*.yml) or action.yml files",
    "deps": "no lock files or pinned manifests",
}
# What these say depends on data that changes under an unchanged file (deps: OSV advisories), so their
# results are never kept in the content-hash scan cache.
_UNCACHED = frozenset({"deps"})


def default_timeout_s() -> float:
    """Seconds a scanner may run: $DEVOPS_ORCHESTRA_SCANNER_TIMEOUT, else 600."""
    return float(os.environ.get("DEVOPS_ORCHESTRA_SCANNER_TIMEOUT", "600"))


def cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


async def security_scan(
    target: Path,
    *,
    scanners: Sequence[str] | None = None,
    min_severity: Severity = Severity.info,
    timeout_s: float | None = None,
    progress: Progress | None = None,
    display_path: str = ".",
    runners: Mapping[str, Runner] | None = None,
    adapters: Mapping[str, Scanner] | None = None,
    run_id: str | None = None,
    changed_since: str | None = None,
    staged: bool = False,
    files: Collection[str] | None = None,
    cache: ScanCache | None = None,
    inventory: Inventory | None = None,
) -> SecurityReport:
    """Scan target (a directory or one file) with every requested scanner that applies.

    A scanner that is missing, crashes or times out becomes its run record; the others still count.
    runners: per scanner, a stand-in for starting its process (the server's warm checkov).
    adapters: per scanner, an adapter in place of the usual one (a review's semgrep carrying SQL rules).
    changed_since / staged: only the files git says changed since that ref / are staged.
    files: only these paths, relative to target.
    cache: what each scanner said about each file before; only changed files are scanned again.
    inventory: target's inventory when the caller has built it already.
    """
    started = time.perf_counter()
    wanted = list(dict.fromkeys(scanners or SCANNERS))
    only = set(files) if files is not None else None
    if changed_since is not None or staged:
        only = await asyncio.to_thread(changed_files, target, changed_since, staged)
    if inventory is None:
        inventory = await asyncio.to_thread(build_inventory, target, only)
    total = len(wanted) + 1
    if progress:
        await progress(1, total, f"inventory: {len(inventory.files)} files to scan, {len(inventory.skipped)} left out")

    runs: dict[str, ScannerRun] = {}
    jobs: list[tuple[Scanner, ScanJob, str | None]] = []
    for name in wanted:
        scanner = (adapters or {}).get(name) or ALL[name]
        selected = scanner.select(inventory)
        if not selected:
            runs[name] = ScannerRun(name=scanner.name, status="skipped", error=_NOTHING_TO_SCAN[name])
            continue
        job = ScanJob(base=inventory.base, files=selected, cores=cores(), timeout_s=timeout_s or default_timeout_s(),
                      runner=(runners or {}).get(name, proc.run))
        if not scanner.single_process and job.workers() > 1:  # spread over the cores: yields to those that cannot
            job = dataclasses.replace(job, nice=SHARED_NICE)
        jobs.append((scanner, job, scanner.version()))
    # What the cache knows of every scanner's files, in one look (one connection, no threads contending).
    keys = {scanner.name: keys_for(scanner.name, version, job.files) for scanner, job, version in jobs
            if cache and version and scanner.name not in _UNCACHED}
    known: dict[str, list[Finding]] = {}
    if cache and keys:
        try:
            known = await asyncio.to_thread(cache.lookup, {k: k for ks in keys.values() for k in ks.values()})
        except sqlite3.Error as exc:  # a cache that cannot be read is a cold scan, not a failed one
            log.warning("scan cache unreadable; scanning every file", cache=str(cache.path), error=str(exc))
    tasks = [asyncio.create_task(_run_one(scanner, job, version, None if scanner.name not in keys else cache,
                                          keys.get(scanner.name, {}), known))
             for scanner, job, version in jobs]

    outcomes: list[ScanOutcome] = []
    done_count = 1 + len(runs)
    try:
        for next_done in asyncio.as_completed(tasks):
            run, outcome = await next_done
            runs[run.name] = run
            if outcome:
                outcomes.append(outcome)
            done_count += 1
            if progress:
                await progress(done_count, total, _progress_line(run))
    finally:  # a cancelled call cancels every scanner, which kills its processes
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    findings = judge_test_code([f for o in outcomes for f in o.findings], inventory)
    findings = [f for f in _merge_duplicates(findings) if f.severity.rank >= min_severity.rank]
    findings.sort(key=rank_key)
    scope = inventory.scope()
    scope.test_findings_demoted = sum(f.in_test_code for f in findings)
    if changed_since is not None or staged:
        scope.changed_only = "staged files" if staged else f"files changed since {changed_since}"
    return SecurityReport(
        run_id=run_id or new_run_id(),
        root=str(inventory.base),
        path=display_path,
        duration_s=round(time.perf_counter() - started, 2),
        findings=findings,
        scanners=[runs[n] for n in wanted],
        scope=scope,
    )


async def recorded_security_scan(
    store: Store, request: SecurityScanRequest, *, progress: Progress | None = None,
    runners: Mapping[str, Runner] | None = None, cache: ScanCache | None = None,
) -> SecurityReport:
    """security_scan, kept in the run store.

    Each finding's status says whether the last full scan of the same directory had it too.
    """

    async def run(run_id: str) -> SecurityReport:
        report = await security_scan(
            request.target, scanners=request.scanners, min_severity=request.min_severity,
            changed_since=request.changed_since, staged=request.staged, files=request.files,
            display_path=request.display_path, progress=progress, runners=runners, cache=cache, run_id=run_id)
        baseline = await asyncio.to_thread(store.latest_finished, Path(report.root), run_id, True)
        if not baseline:
            return report
        known = await asyncio.to_thread(store.finding_ids, baseline)
        return report.model_copy(update={
            "baseline_run_id": baseline,
            "findings": [f.model_copy(update={"status": "existing" if f.id in known else "new"})
                         for f in report.findings],
        })

    return await recorded(store, "security", request, run)


async def _run_one(
    scanner: Scanner, job: ScanJob, version: str | None, cache: ScanCache | None, keys: dict[str, str],
    known: dict[str, list[Finding]],
) -> tuple[ScannerRun, ScanOutcome | None]:
    """One scanner on the files the cache does not know (known: cache key -> findings; keys: file -> key)."""
    started = time.perf_counter()
    hits = {rel: known[key] for rel, key in keys.items() if key in known}

    def record(status: str, error: str | None = None, **extra: object) -> ScannerRun:
        return ScannerRun.model_validate({
            "name": scanner.name, "version": version, "status": status, "error": error,
            "duration_s": round(time.perf_counter() - started, 2), "files": len(job.files), "cached": len(hits),
            **extra,
        })

    if version is None:
        return record("unavailable", f"{scanner.name} is not installed: run `devops-orchestra tools install`"), None
    try:
        todo = [f for f in job.files if f.rel not in hits]
        outcome = await scanner.scan(dataclasses.replace(job, files=todo)) if todo else ScanOutcome([])
        if cache and todo:
            # A file a scanner complained about is asked again next time.
            clean = {f.rel: keys[f.rel] for f in todo if not any(f.rel in w for w in outcome.warnings)}
            await asyncio.to_thread(cache.store, clean, outcome.findings)
        outcome.findings += [f for found in hits.values() for f in found]
    except ScannerUnavailable as exc:
        return record("unavailable", str(exc)), None
    except ScannerTimeout as exc:
        return record("timeout", str(exc)), None
    except ScannerFailed as exc:
        return record("failed", str(exc)), None
    except Exception as exc:  # a bug in one adapter must not lose the other scanners' findings
        log.exception("scanner crashed", scanner=scanner.name)
        return record("failed", f"{type(exc).__name__}: {exc}"), None
    warnings = outcome.warnings[:10] + ([f"... and {len(outcome.warnings) - 10} more"]
                                        if len(outcome.warnings) > 10 else [])
    return record("ok", findings=len(outcome.findings), warnings=warnings), outcome


def _progress_line(run: ScannerRun) -> str:
    if run.status == "ok":
        return f"{run.name}: {run.findings} findings in {run.duration_s:.1f} s"
    return f"{run.name}: {run.status} ({run.error})"


def _merge_duplicates(findings: list[Finding]) -> list[Finding]:
    """One problem reported by several scanners on one line becomes one finding naming them all.

    Two rules of one scanner on one line are two problems (checkov's checks on one resource), except
    for secrets: a token that two detect-secrets plugins recognise is still one secret.
    """
    groups: dict[tuple[str, int, str], list[Finding]] = {}
    for f in findings:
        key = (f.location.path, f.location.start_line, f.category if f.category != "other" else f.rule_id)
        groups.setdefault(key, []).append(f)
    merged: list[Finding] = []
    seen_ids: set[str] = set()
    for group in groups.values():
        group.sort(key=lambda f: (-f.severity.rank, -_SOURCE_RANK[f.scanner], -CONFIDENCE_RANK[f.confidence]))
        clusters: list[list[Finding]] = []
        for f in group:
            home = next((c for c in clusters if f.category == "secret" or f.scanner not in {x.scanner for x in c}),
                        None)
            if home is None:
                clusters.append([f])
            else:
                home.append(f)
        for lead, *others in clusters:
            sources = sorted({f.rule_id for f in others} - {lead.rule_id})
            if sources:
                lead = lead.model_copy(update={"sources": sources})
            if lead.id in seen_ids:  # the same code twice in one file: keep both, with distinct ids
                n = 2
                while f"{lead.id}-{n}" in seen_ids:
                    n += 1
                lead = lead.model_copy(update={"id": f"{lead.id}-{n}"})
            seen_ids.add(lead.id)
            merged.append(lead)
    return merged

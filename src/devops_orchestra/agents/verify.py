"""verify_fix: re-run only the scanners and files some earlier findings came from, and say per finding
whether it is resolved, still there (and where now), or cannot be told."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

from devops_orchestra.agents.security import SCANNERS, recorded_security_scan
from devops_orchestra.core.proc import Runner
from devops_orchestra.core.store import Store
from devops_orchestra.models import Finding, Location, ScannerRun
from devops_orchestra.models.requests import SecurityScanRequest
from devops_orchestra.models.verify import FixCheck, FixVerdict, FixVerification


async def verify_fix(
    store: Store, root: Path, finding_ids: Sequence[str], *, runners: Mapping[str, Runner] | None = None,
) -> FixVerification:
    """Re-run the scanners of these earlier findings on their files; per id: resolved, still present or unknown."""
    wanted = list(dict.fromkeys(finding_ids))
    before = await asyncio.to_thread(store.latest_findings, root, wanted)
    if not before:  # nothing to re-run: say so per id without scanning
        return FixVerification(run_id="", duration_s=0.0, scanners=[], checks=[_unknown_id(i) for i in wanted])
    scanners = sorted({name for f in before.values() for name in _scanners_of(f)}, key=SCANNERS.index)
    files = {f.location.path for f in before.values()}
    present = {f for f in files if await asyncio.to_thread((root / f).is_file)}
    report = await recorded_security_scan(
        store, SecurityScanRequest(target=root, scanners=scanners, files=sorted(present)), runners=runners)
    runs: dict[str, ScannerRun] = {r.name: r for r in report.scanners}
    checks = []
    for finding_id in wanted:
        old = before.get(finding_id)
        if old is None:
            checks.append(_unknown_id(finding_id))
            continue
        broken = [runs[s] for s in _scanners_of(old) if runs[s].status not in ("ok", "skipped")]
        checks.append(_judge(old, report.findings, broken, old.location.path in present))
    return FixVerification(run_id=report.run_id, duration_s=report.duration_s, checks=checks,
                           scanners=report.scanners)


def _judge(old: Finding, now: list[Finding], broken: list[ScannerRun], file_exists: bool) -> FixCheck:
    def check(verdict: FixVerdict, reason: str, location: Location | None = None) -> FixCheck:
        return FixCheck(finding_id=old.id, rule_id=old.rule_id, verdict=verdict, reason=reason, location=location)

    same = next((f for f in now if f.id == old.id), None)
    if same:
        return check("still_present", "found again", same.location)
    rules = {old.rule_id, *old.sources}
    # Edited code changes the fingerprint: the same rule in the same file is still the same problem.
    moved = next((f for f in now if f.location.path == old.location.path and rules & {f.rule_id, *f.sources}),
                 None)
    if moved:
        return check("still_present", "the same rule still fires in this file (the code around it changed)",
                     moved.location)
    if broken:
        return check("unknown", "could not re-run: " + "; ".join(f"{r.name} {r.status}: {r.error}" for r in broken))
    if not file_exists:
        return check("resolved", f"{old.location.path} no longer exists")
    return check("resolved", "no longer reported by " + ", ".join(_scanners_of(old)))


def _scanners_of(f: Finding) -> list[str]:
    return list(dict.fromkeys(rule.split(":", 1)[0] for rule in (f.rule_id, *f.sources)))


def _unknown_id(finding_id: str) -> FixCheck:
    return FixCheck(finding_id=finding_id, verdict="unknown",
                    reason="no stored run of this directory has a finding with this id: run security_scan first")

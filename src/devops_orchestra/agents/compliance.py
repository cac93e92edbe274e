"""The compliance agent: one security scan, our repository checks, and every control of each framework
judged from them as pass, fail or not_assessable, then the organisation's gates."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from devops_orchestra.agents.architecture import config_secret_findings
from devops_orchestra.agents.runs import Progress, rank_key, recorded
from devops_orchestra.agents.security import security_scan
from devops_orchestra.agents.shared_work import Shared
from devops_orchestra.compliance.policy import Control, Framework, Gate, Needs, Policies, load_policies
from devops_orchestra.compliance.repo_checks import CHECKS, CheckResult, Repo
from devops_orchestra.core.cache import ScanCache
from devops_orchestra.core.errors import PolicyError
from devops_orchestra.core.proc import Runner
from devops_orchestra.core.store import Store
from devops_orchestra.core.workspace import Inventory, build_inventory
from devops_orchestra.models import (
    ComplianceReport,
    ControlResult,
    Evidence,
    Finding,
    FrameworkResult,
    GateResult,
    ScannerRun,
    SecurityReport,
)
from devops_orchestra.models.requests import ComplianceRequest
from devops_orchestra.scanners.checkov import framework_of

EVIDENCE_SHOWN = 3
# What "iac" controls judge (encryption, backups, networks, privileges) lives in these; checkov reads CI
# workflows too, but a repository whose only infrastructure is a workflow has none of it to show.
_INFRASTRUCTURE = frozenset({"terraform", "kubernetes", "dockerfile"})
# Files the inventory leaves out of scanning that repository checks still need to see.
_LISTED_THOUGH_SKIPPED = {"lock file", "binary"}
_NEEDS: dict[Needs, tuple[str, ...]] = {
    "code": ("semgrep", "bandit"), "iac": ("checkov",), "secrets": ("secrets",), "deps": ("deps",),
    "any": ("semgrep", "bandit", "checkov", "zizmor", "secrets", "deps")}
_NEEDS_WORDS = {"code": "source code", "iac": "infrastructure code (Terraform, Kubernetes, Dockerfiles)",
                "secrets": "text files", "deps": "pinned dependencies", "any": "files"}


async def compliance_check(
    target: Path,
    *,
    frameworks: Sequence[str] | None = None,
    progress: Progress | None = None,
    display_path: str = ".",
    runners: Mapping[str, Runner] | None = None,
    cache: ScanCache | None = None,
    run_id: str = "",
    inventory: Inventory | None = None,
    scan: SecurityReport | None = None,
    extra_findings: Sequence[Finding] = (),
) -> ComplianceReport:
    """Judge target against frameworks (default: every framework the policies define).

    inventory, scan: target's inventory and security scan, when the caller has them already.
    extra_findings: other agents' findings on target (SQL injection, secrets in config...), judged too.
    """
    started = time.perf_counter()
    policies = await asyncio.to_thread(lambda: load_policies(target if target.is_dir() else target.parent))
    chosen = _choose(policies, frameworks)
    if inventory is None:
        inventory = await asyncio.to_thread(build_inventory, target)
    if scan is None:
        scan = await security_scan(target, progress=progress, display_path=display_path, runners=runners,
                                   cache=cache, inventory=inventory, run_id=run_id)
    repo = _repo(inventory)
    wanted: list[str] = sorted({check for fw in chosen for c in fw.controls for check in c.checks})
    checks = await asyncio.to_thread(lambda: {name: CHECKS[name](repo) for name in wanted})

    known = {f.id for f in scan.findings}
    pool = scan.findings + [f for f in extra_findings if f.id not in known]
    broken: dict[str, list[str]] = {}
    infrastructure = any(framework_of(f) in _INFRASTRUCTURE for f in inventory.files)
    coverage = {needs: _coverage(needs, scan.scanners, infrastructure) for needs in _NEEDS}
    results = [_judge_framework(fw, pool, checks, coverage, broken) for fw in chosen]
    findings = sorted((f.model_copy(update={"controls": broken[f.id]}) if f.id in broken else f
                       for f in pool), key=rank_key)
    return ComplianceReport(
        run_id=run_id or scan.run_id,
        root=scan.root,
        path=display_path,
        duration_s=round(time.perf_counter() - started, 2),
        findings=findings,
        frameworks=results,
        gate=_apply_gates(policies, results, findings),
        policy_files=policies.sources,
        scanners=scan.scanners,
        scope=scan.scope,
        warnings=repo.warnings,
    )


def _choose(policies: Policies, names: Sequence[str] | None) -> list[Framework]:
    unknown = [n for n in names or () if n not in policies.frameworks]
    if unknown:
        raise PolicyError(f"unknown framework {', '.join(map(repr, unknown))}; the policies define "
                          f"{', '.join(sorted(policies.frameworks))}.")
    return [policies.frameworks[n] for n in dict.fromkeys(names or sorted(policies.frameworks))]


def _repo(inventory: Inventory) -> Repo:
    listed = [f.rel for f in inventory.files]
    listed += [s.path for s in inventory.skipped if s.reason in _LISTED_THOUGH_SKIPPED]
    return Repo(base=inventory.base, files=sorted(listed))


def _coverage(needs: Needs, scanners: list[ScannerRun], infrastructure: bool) -> tuple[bool, str]:
    """Whether the scanners that could break a control looked at anything, and in words."""
    if needs == "iac" and not infrastructure:
        return False, f"no {_NEEDS_WORDS[needs]} to judge"
    runs = [r for r in scanners if r.name in _NEEDS[needs]]
    looked = [r for r in runs if r.status == "ok" and r.files]
    if looked:
        return True, "none found by " + ", ".join(f"{r.name} ({r.files} files)" for r in looked)
    trouble = [f"{r.name} {r.status}: {r.error}" for r in runs if r.status in ("failed", "timeout", "unavailable")]
    return False, "; ".join(trouble) or f"no {_NEEDS_WORDS[needs]} to judge"


def _judge_framework(fw: Framework, findings: list[Finding], checks: dict[str, CheckResult],
                     coverage: dict[Needs, tuple[bool, str]], broken: dict[str, list[str]]) -> FrameworkResult:
    controls = []
    for control in fw.controls:
        hits = [f for f in findings if control.violated_by and control.violated_by.matches(f)]
        for f in hits:
            broken.setdefault(f.id, []).append(f"{fw.framework}:{control.id}")
        controls.append(_judge(control, hits, checks, coverage))
    passed = sum(c.status == "pass" for c in controls)
    failed = sum(c.status == "fail" for c in controls)
    return FrameworkResult(
        framework=fw.framework, name=fw.name, version=fw.version,
        score=round(100 * passed / (passed + failed), 1) if passed + failed else None,
        passed=passed, failed=failed, not_assessable=len(controls) - passed - failed, controls=controls,
    )


def _judge(control: Control, hits: list[Finding], checks: dict[str, CheckResult],
           coverage: dict[Needs, tuple[bool, str]]) -> ControlResult:
    own = {name: checks[name] for name in control.checks}
    failing = {n: r for n, r in own.items() if r.status == "fail"}
    if hits or failing:
        why = [f"{len(hits)} finding(s) break it"] if hits else []
        why += [f"{n}: {r.detail}" for n, r in failing.items()]
        evidence = [Evidence(path=f.location.path, line=f.location.start_line, note=f.rule_id,
                             finding_id=f.id) for f in hits]
        evidence += [e for r in failing.values() for e in r.evidence]
        return _result(control, "fail", why, evidence)

    covered, words = coverage[control.violated_by.needs] if control.violated_by else (False, "")
    judged = covered or any(r.status == "pass" for r in own.values())
    # What the scanners did or could not do explains a pass they support, or why nothing could be judged.
    why = [words] if words and (covered or not judged) else []
    why += [f"{n}: {r.detail}" for n, r in own.items()]
    evidence = [e for r in own.values() if r.status == "pass" for e in r.evidence]
    if judged:
        return _result(control, "pass", why, evidence)
    return _result(control, "not_assessable", why or ["a repository cannot show it"], evidence)


def _result(control: Control, status: str, why: list[str], evidence: list[Evidence]) -> ControlResult:
    manual = control.manual
    if status == "not_assessable" and not manual:
        manual = f"Evidence from outside the repository that: {control.requirement}"
    return ControlResult.model_validate({
        "id": control.id, "title": control.title, "status": status, "why": "; ".join(why),
        "evidence": evidence[:EVIDENCE_SHOWN], "evidence_total": len(evidence),
        "remediation": control.remediation if status == "fail" else None, "manual_evidence": manual,
    })


def _apply_gates(policies: Policies, results: list[FrameworkResult], findings: list[Finding]) -> GateResult:
    judged = {r.framework: r for r in results}
    reasons = [reason for gate in policies.gates for reason in _trips(gate, policies, judged, findings)]
    return GateResult(status="blocked" if reasons else "passed", reasons=reasons,
                      gates=[g.name for g in policies.gates])


def _trips(gate: Gate, policies: Policies, judged: dict[str, FrameworkResult],
           findings: list[Finding]) -> list[str]:
    reasons = []
    if gate.block_on_severity is not None:
        worst = [f for f in findings if f.severity.rank >= gate.block_on_severity.rank and not f.in_test_code]
        if worst:
            first = worst[0]
            reasons.append(f"{gate.name}: {len(worst)} finding(s) at {gate.block_on_severity.value} or above, "
                           f"first {first.location.path}:{first.location.start_line} {first.title}")
    for ref in gate.block_on_failed:
        framework, _, control = ref.partition(":")
        if framework not in policies.frameworks:
            raise PolicyError(f"gate {gate.name} names framework {framework!r}, which no policy defines "
                              f"({', '.join(sorted(policies.frameworks))}).")
        result = judged.get(framework)
        failed = [c.id for c in result.controls if c.status == "fail"] if result else []
        failed = [c for c in failed if not control or c == control]
        if failed:
            reasons.append(f"{gate.name}: {framework} control(s) failed: {', '.join(failed)}")
    if gate.min_score is not None:
        low = [f"{r.framework} {r.score}" for r in judged.values() if r.score is not None and r.score < gate.min_score]
        if low:
            reasons.append(f"{gate.name}: score below {gate.min_score:g}: {', '.join(low)}")
    return reasons


async def compliance_with_evidence(
    target: Path,
    *,
    frameworks: Sequence[str] | None = None,
    display_path: str = ".",
    run_id: str = "",
    cache: ScanCache | None = None,
    runners: Mapping[str, Runner] | None = None,
    progress: Progress | None = None,
) -> ComplianceReport:
    """compliance_check on its own, judging what a review's compliance agent judges: the security scan, the
    SQL agent's findings where it applies (its semgrep run shared as in a review) and the architecture
    agent's secrets in config files. So the same repository gets the same control results from either."""
    from devops_orchestra.agents.registry import AGENTS  # here: the registry imports this module

    inventory = await asyncio.to_thread(build_inventory, target)
    sql = [a for a in AGENTS if a.name == "sql" and a.applies(inventory)]
    shared = Shared(target, inventory, cache, runners, changed_only=False, sql_rides_along=bool(sql),
                    scan_progress=progress)
    for agent in sql:
        shared.start(agent.name, agent.work)
    try:
        config_secrets = await asyncio.to_thread(config_secret_findings, inventory)
        return await compliance_check(target, inventory=inventory, scan=await shared.security(),
                                      extra_findings=config_secrets + await shared.findings_of("sql"),
                                      frameworks=frameworks, display_path=display_path, run_id=run_id)
    finally:  # cancelled or failed: stop the SQL agent and the scanners
        await shared.stop()


async def recorded_compliance_check(
    store: Store, request: ComplianceRequest, *, progress: Progress | None = None,
    runners: Mapping[str, Runner] | None = None, cache: ScanCache | None = None,
) -> ComplianceReport:
    """compliance_with_evidence, kept in the run store."""
    return await recorded(store, "compliance", request, lambda run_id: compliance_with_evidence(
        request.target, frameworks=request.frameworks, display_path=request.display_path, run_id=run_id,
        progress=progress, runners=runners, cache=cache))

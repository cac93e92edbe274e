"""The review agent: decide from the repository and the request which agents apply, run them at once with
shared work done once (one inventory, one security scan), and give one verdict over all their findings."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devops_orchestra.agents.architecture import architecture_analysis, config_secret_findings
from devops_orchestra.agents.compliance import compliance_check
from devops_orchestra.agents.dora import dora_metrics
from devops_orchestra.agents.pipeline import generate
from devops_orchestra.agents.runs import findings_fields, new_run_id, rank_key, recorded
from devops_orchestra.agents.security import Progress, security_scan
from devops_orchestra.core import proc
from devops_orchestra.core.cache import ScanCache
from devops_orchestra.core.proc import Runner
from devops_orchestra.core.store import Store
from devops_orchestra.core.workspace import Inventory, build_inventory, changed_files
from devops_orchestra.models import (
    AgentInfo,
    AgentList,
    AgentRun,
    ComplianceReport,
    Finding,
    GateResult,
    PlannedAgent,
    ReviewReport,
    ReviewVerdict,
    ScannerStatus,
    SecurityReport,
)
from devops_orchestra.pipeline.lint import linter_versions
from devops_orchestra.render.dora import short_text as dora_text
from devops_orchestra.scanners import ALL, semgrep_sql

# Code that talks to a database: the SQL agent applies even without .sql files. Imports, not mere words
# (networkx says "knex" and "pg" in prose and has no database).
DB_CODE = re.compile(
    r"^\s*(?:import|from)\s+(?P<python>sqlalchemy|psycopg2?|pymysql|MySQLdb|sqlite3|django\.db|asyncpg)\b"
    r"""|(?:require\(\s*|from\s+|import\s+)['"](?P<js>pg|mysql2?|knex|sequelize|typeorm|@prisma/client|"""
    r"""sqlite3|better-sqlite3)['"]"""
    r'|"(?P<go>database/sql)"|\b(?P<java>java\.sql)\.|\b(?P<jdbc>jdbc):',
    re.MULTILINE,
)
DB_WORDS = re.compile(r"\b(?:sqlalchemy|psycopg2?|pymysql|MySQLdb|sqlite3|django\.db|asyncpg|pg|mysql2?|knex|"
                      r"sequelize|typeorm|prisma|database/sql|java\.sql|jdbc)\b")  # in every DB_CODE match: fast


@dataclass
class Shared:
    """Work several agents need, done once per review."""

    target: Path
    inventory: Inventory
    cache: ScanCache | None
    runners: Mapping[str, Runner] | None
    changed_only: bool
    sql_rides_along: bool  # the SQL agent runs beside the security scan, so their semgrep runs are one
    scan_progress: Progress | None = None
    _scan: asyncio.Task[SecurityReport] | None = None
    _semgrep: semgrep_sql.Prescanned = field(default_factory=semgrep_sql.Prescanned)
    agents: dict[str, asyncio.Task[tuple[AgentRun, Outcome | None]]] = field(default_factory=dict)

    def security(self) -> asyncio.Task[SecurityReport]:
        if self._scan is None:
            runners = {**(self.runners or {}), **({"semgrep": self._semgrep_for_both} if self.sql_rides_along else {})}
            self._scan = asyncio.create_task(security_scan(
                self.target, inventory=self.inventory, cache=self.cache, runners=runners, progress=self.scan_progress))
        return self._scan

    async def _semgrep_for_both(self, argv: Sequence[str], *, cwd: Path, timeout_s: float,
                                env: Mapping[str, str] | None = None, nice: int = 0) -> proc.ProcResult:
        """The security scan's semgrep with the SQL agent's rules too: one process start serves both agents
        (the SQL agent reads what it needs from these outputs, the security agent never sees it)."""
        files_at = max(i for i, a in enumerate(argv) if a == "--config") + 2
        result = await proc.run([*argv[:files_at], "--config", str(semgrep_sql.rules()), *argv[files_at:]],
                                cwd=cwd, timeout_s=timeout_s, env=env, nice=nice)
        try:
            raw = json.loads(result.stdout)
        except ValueError:
            return result  # the security scanner says what went wrong
        self._semgrep.raws.append(raw)
        self._semgrep.files.update(a.removeprefix("./") for a in argv[files_at:])
        own = {**raw, "results": [r for r in raw.get("results", []) if not semgrep_sql.is_literal(r)]}
        return dataclasses.replace(result, stdout=json.dumps(own).encode())

    async def sql_semgrep(self) -> semgrep_sql.Prescanned:
        """What the security scan's semgrep found for the SQL agent, once it has run (nothing if it failed)."""
        await asyncio.gather(self.security(), return_exceptions=True)
        return self._semgrep

    async def findings_of(self, *names: str) -> list[Finding]:
        """The findings of other agents of this review, once they are done (none from one that failed)."""
        done = await asyncio.gather(*(self.agents[n] for n in names if n in self.agents), return_exceptions=True)
        return [f for d in done if isinstance(d, tuple) and d[1] for f in d[1].findings]

    async def stop(self) -> None:
        """Cancel the agents and the security scan (which kills their scanners) and wait for them; a no-op
        for those already done."""
        tasks = [*self.agents.values(), *([self._scan] if self._scan else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def whole_repository(self) -> Inventory:
        """The inventory of every file, for checks of the repository as a whole (CI, CODEOWNERS...)."""
        return await asyncio.to_thread(build_inventory, self.target) if self.changed_only else self.inventory


@dataclass
class Outcome:
    findings: list[Finding]
    summary: str
    gate: GateResult | None = None


@dataclass(frozen=True)
class AgentSpec:
    name: str
    description: str
    tools: tuple[str, ...]
    scanners: tuple[str, ...]
    keywords: re.Pattern[str]
    applies: Callable[[Inventory], str | None]  # why it applies by default, or None
    run: Callable[[Shared], Awaitable[Outcome]]
    unasked: str = "nothing in the repository calls for it"


def _security_applies(inv: Inventory) -> str | None:
    return f"{len(inv.files)} files to scan for vulnerabilities and secrets" if inv.files else None


def _iac(inv: Inventory) -> str | None:
    iac = ALL["checkov"].select(inv)
    return f"infrastructure code present ({len(iac)} files): checkov and compliance controls" if iac else None


async def _run_security(shared: Shared) -> Outcome:
    scan = await shared.security()
    s = scan.summary
    return Outcome(scan.findings, f"{s.total} findings (critical {s.critical}, high {s.high}) from "
                                  f"{', '.join(r.name for r in scan.scanners if r.status == 'ok')}")


async def _run_compliance(shared: Shared) -> Outcome:
    report = await compliance_check(shared.target, inventory=await shared.whole_repository(),
                                    scan=await shared.security(),
                                    extra_findings=await shared.findings_of("sql", "architecture"))
    scores = ", ".join(f"{f.framework} {f.score:g}%" if f.score is not None else f"{f.framework} -"
                       for f in report.frameworks)
    failed = [f for f in report.findings if f.controls]
    return Outcome(failed, f"gate {report.gate.status}; {scores}", report.gate)


def _sql_applies(inv: Inventory) -> str | None:
    from devops_orchestra.agents.sql import MIGRATION_DIRS  # sqlglot only when a review runs

    sql_files = [f.rel for f in inv.files if f.rel.lower().endswith(".sql")]
    if sql_files:
        return f"{len(sql_files)} SQL files (e.g. {sql_files[0]})"
    migrations = [f.rel for f in inv.files if f.language == "python" and MIGRATION_DIRS & set(Path(f.rel).parts[:-1])]
    if migrations:
        return f"{len(migrations)} Python migration files (e.g. {migrations[0]})"
    for f in inv.with_language("python", "javascript", "typescript", "go", "java"):
        try:
            text = (inv.base / f.rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        hit = DB_CODE.search(text) if DB_WORDS.search(text) else None
        if hit:
            return f"database code ({hit.group(hit.lastgroup or 0)!r} in {f.rel})"
    return None


async def _run_sql(shared: Shared) -> Outcome:
    from devops_orchestra.agents.sql import sql_analysis

    report = await sql_analysis(shared.target, inventory=shared.inventory, cache=shared.cache,
                                prescanned=shared.sql_semgrep if shared.sql_rides_along else None)
    s = report.summary
    return Outcome(report.findings, f"{s.total} findings (critical {s.critical}, high {s.high}) in "
                                    f"{sum(report.files_by_kind.values())} files")


def _code_applies(inv: Inventory) -> str | None:
    code = inv.with_language("python", "javascript", "typescript", "go", "java")
    return f"{len(code)} source files: components, import cycles, layering, missing tests and CI" if code else None


async def _run_architecture(shared: Shared) -> Outcome:
    report = await architecture_analysis(shared.target, inventory=await shared.whole_repository())
    return Outcome(report.findings, f"{len(report.components)} components, {len(report.data_stores)} data stores, "
                                    f"{report.findings_total} findings")


async def _run_pipeline(shared: Shared) -> Outcome:
    runner = (shared.runners or {}).get("checkov", proc.run)
    report = await generate(shared.target, new_run_id(), display_path=".", checkov_runner=runner)
    return Outcome(report.findings, f"{len(report.files)} files generated, validation "
                                    f"{'clean' if report.clean else 'NOT clean'} (nothing written)")


async def _run_dora(shared: Shared) -> Outcome:
    report = await asyncio.to_thread(dora_metrics, shared.target)
    return Outcome([], dora_text(report).split(": ", 1)[-1])


def _on_request_only(_: Inventory) -> None:
    return None


AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec("security", "Vulnerabilities, secrets and IaC misconfigurations with file, line and fix.",
              ("security_scan", "verify_fix"), tuple(ALL),
              re.compile(r"secur|vulnerab|secret|cve|inject|xss|owasp|scan", re.I), _security_applies,
              _run_security),
    AgentSpec("compliance", "SOC 2, HIPAA and PCI DSS controls judged with evidence, and the policy gate.",
              ("compliance_check",), tuple(ALL),
              re.compile(r"complian|soc ?2|hipaa|pci|audit|gate|control", re.I), _iac, _run_compliance),
    AgentSpec("sql", "SQL migration safety (locks, rewrites, breaking changes), query anti-patterns and injection.",
              ("sql_analysis",), ("semgrep",),
              re.compile(r"\bsql\b|migration|quer(y|ies)|database|schema", re.I), _sql_applies, _run_sql),
    AgentSpec("architecture", "Components, data stores, infrastructure and the import graph, judged and drawn.",
              ("architecture_analysis",), (),
              re.compile(r"architect|diagram|component|dependency graph|import cycle|layer", re.I),
              _code_applies, _run_architecture),
    AgentSpec("pipeline", "Dockerfile, CI workflow, Kubernetes and Terraform generated, then linted before use.",
              ("generate_pipeline", "init_config"), ("checkov", "hadolint", "actionlint", "check-jsonschema"),
              re.compile(r"pipeline|dockerfile|deploy(?!ment frequency)|kubernetes|helm|terraform|workflow", re.I),
              _on_request_only, _run_pipeline, "runs when asked, e.g. 'generate a deployment pipeline'"),
    AgentSpec("dora", "Deployment frequency, lead time, change failure rate and time to restore from git history.",
              ("dora_metrics",), (),
              re.compile(r"dora|lead time|deploy\w* frequency|change failure|time to restore|delivery", re.I),
              _on_request_only, _run_dora, "runs when asked, e.g. 'what is our lead time?'"),
)


def plan(inventory: Inventory, request: str) -> list[PlannedAgent]:
    """Which agents run and why: those the request names, else those the repository calls for."""
    named = {a.name for a in AGENTS if request and a.keywords.search(request)}
    planned = []
    for agent in AGENTS:
        by_repo = agent.applies(inventory)
        asked = agent.keywords.search(request) if request else None
        if named:
            run = asked is not None
            why = f"the request asks for it ({asked.group(0)!r})" if asked else "the request asks for other agents"
        else:
            run = by_repo is not None
            why = by_repo or agent.unasked
        planned.append(PlannedAgent(agent=agent.name, tools=list(agent.tools), scanners=list(agent.scanners),
                                    why=why, run=run))
    return planned


async def review(
    target: Path,
    *,
    request: str = "",
    changed_since: str | None = None,
    plan_only: bool = False,
    cache: ScanCache | None = None,
    runners: Mapping[str, Runner] | None = None,
    progress: Progress | None = None,
    display_path: str = ".",
    run_id: str = "",
) -> ReviewReport:
    started = time.perf_counter()
    changed = await asyncio.to_thread(changed_files, target, changed_since, False) if changed_since else None
    inventory = await asyncio.to_thread(build_inventory, target, changed)
    report = ReviewReport(
        run_id=run_id, root=str(inventory.base), path=display_path, request=request,
        plan=plan(inventory, request), changed_only=f"files changed since {changed_since}" if changed_since else None,
        duration_s=0.0, **findings_fields([]), verdict="plan only",
    )
    if not plan_only:
        chosen = [a for a, p in zip(AGENTS, report.plan, strict=True) if p.run]
        names = {a.name for a in chosen}
        shared = Shared(target, inventory, cache, runners, changed_only=changed is not None,
                        sql_rides_along="sql" in names and bool({"security", "compliance"} & names))
        runs, outcomes = await _run_all(chosen, shared, progress)
        findings = _merge([f for o in outcomes.values() for f in o.findings])
        gate = outcomes["compliance"].gate if "compliance" in outcomes else None
        verdict, reasons = _verdict(findings, gate, runs)
        report = report.model_copy(update={
            **findings_fields(findings), "verdict": verdict, "verdict_reasons": reasons, "agents": runs,
            "compliance_gate": gate,
        })
    return report.model_copy(update={"duration_s": round(time.perf_counter() - started, 2)})


async def _run_all(chosen: list[AgentSpec], shared: Shared,
                   progress: Progress | None) -> tuple[list[AgentRun], dict[str, Outcome]]:
    shared.agents = {a.name: asyncio.create_task(_run_agent(a, shared)) for a in chosen}
    tasks = list(shared.agents.values())
    runs: dict[str, AgentRun] = {}
    outcomes: dict[str, Outcome] = {}
    try:
        for done in asyncio.as_completed(tasks):
            run, outcome = await done
            runs[run.agent] = run
            if outcome:
                outcomes[run.agent] = outcome
            if progress:
                await progress(len(runs), len(tasks), f"{run.agent}: {run.summary}")
    finally:  # cancelled: cancel every agent, which kills their scanners
        await shared.stop()
    return [runs[a.name] for a in chosen], outcomes


async def _run_agent(agent: AgentSpec, shared: Shared) -> tuple[AgentRun, Outcome | None]:
    t0 = time.perf_counter()
    try:
        outcome = await agent.run(shared)
    except Exception as exc:  # one agent failing is part of the answer, not the end of it
        return AgentRun(agent=agent.name, status="failed", duration_s=round(time.perf_counter() - t0, 2),
                        summary="failed", error=f"{type(exc).__name__}: {exc}"), None
    return AgentRun(agent=agent.name, status="ok", duration_s=round(time.perf_counter() - t0, 2),
                    findings=len(outcome.findings), summary=outcome.summary), outcome


async def compliance_with_evidence(
    target: Path,
    *,
    cache: ScanCache | None = None,
    runners: Mapping[str, Runner] | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> ComplianceReport:
    """compliance_check on its own, judging what a review's compliance agent judges: the security scan, the
    SQL agent's findings where it applies (its semgrep run shared as in a review) and the architecture
    agent's secrets in config files. So the same repository gets the same control results from either."""
    inventory = await asyncio.to_thread(build_inventory, target)
    sql = [a for a in AGENTS if a.name == "sql" and a.applies(inventory)]
    shared = Shared(target, inventory, cache, runners, changed_only=False, sql_rides_along=bool(sql),
                    scan_progress=progress)
    shared.agents = {a.name: asyncio.create_task(_run_agent(a, shared)) for a in sql}
    try:
        config_secrets = await asyncio.to_thread(config_secret_findings, inventory)
        return await compliance_check(target, inventory=inventory, scan=await shared.security(),
                                      extra_findings=config_secrets + await shared.findings_of("sql"), **options)
    finally:  # cancelled or failed: stop the SQL agent and the scanners
        await shared.stop()


async def recorded_compliance_check(store: Store, target: Path, **options: Any) -> ComplianceReport:
    """compliance_with_evidence, kept in the run store."""
    arguments = {k: v for k, v in options.items() if k in ("frameworks", "display_path")}
    return await recorded(store, agent="compliance", target=target, path=str(options.get("display_path", ".")),
                          arguments=arguments,
                          run=lambda run_id: compliance_with_evidence(target, run_id=run_id, **options))


def _merge(findings: list[Finding]) -> list[Finding]:
    """One finding per id (compliance hands back security's findings with their controls: keep those)."""
    by_id: dict[str, Finding] = {}
    for f in findings:
        if f.id not in by_id or (f.controls and not by_id[f.id].controls):
            by_id[f.id] = f
    return sorted(by_id.values(), key=rank_key)


def _verdict(findings: list[Finding], gate: GateResult | None,
             runs: list[AgentRun]) -> tuple[ReviewVerdict, list[str]]:
    if gate and gate.status == "blocked":
        return "blocked by gate", gate.reasons
    serious = [f for f in findings if f.severity.rank >= 3 and not f.in_test_code]
    reasons = [f"{f.severity.value}: {f.location.path}:{f.location.start_line} {f.title}" for f in serious[:5]]
    if len(serious) > 5:
        reasons.append(f"... and {len(serious) - 5} more critical or high findings")
    reasons += [f"agent {r.agent} failed: {r.error}" for r in runs if r.status == "failed"]
    if reasons:
        return "needs changes", reasons
    return "safe to merge", ["no critical or high findings outside test code"]


def short_text(report: ReviewReport, top: int = 8) -> str:
    lines = [f"Review of {report.path}: {report.verdict.upper()}"
             + (f" ({report.changed_only})" if report.changed_only else "") + f", {report.duration_s:.1f} s."]
    lines += [f"- {p.agent}: {'runs' if p.run else 'skipped'}, {p.why}" for p in report.plan
              if report.verdict == "plan only" or not p.run]
    lines += [f"- {r.agent}: {r.summary} ({r.duration_s:.1f} s)" + (f" {r.error}" if r.error else "")
              for r in report.agents]
    lines += [f"  because {reason}" for reason in report.verdict_reasons[:6]]
    for f in report.findings[:top]:
        lines.append(f"  [{f.severity.value}] {f.location.path}:{f.location.start_line} {f.title} ({f.rule_id})")
    if report.findings_total > top:
        lines.append(f"  ... {report.findings_total - top} more findings" +
                     (f": {report.full_report}" if report.full_report else ""))
    return "\n".join(lines)


def describe_agents() -> AgentList:
    """Each agent, its tools, and whether the scanners it needs are installed."""
    installed = {**linter_versions(), **{name: scanner.version() for name, scanner in ALL.items()}}
    return AgentList(agents=[
        AgentInfo(name=a.name, description=a.description, tools=list(a.tools),
                  scanners=[ScannerStatus(name=s, installed=installed.get(s) is not None, version=installed.get(s))
                            for s in a.scanners])
        for a in AGENTS
    ])


async def recorded_review(store: Store, target: Path, **options: Any) -> ReviewReport:
    """review, kept in the run store."""
    arguments = {k: v for k, v in options.items() if k in ("request", "changed_since", "plan_only")}
    return await recorded(store, agent="review", target=target, path=str(options.get("display_path", ".")),
                          arguments=arguments, run=lambda run_id: review(target, run_id=run_id, **options))

"""Every agent a review can run: what it is for, its tools and scanners, when it applies to a repository or a
request, and how it runs on a review's shared work. plan() chooses; describe_agents() lists them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from devops_orchestra.agents.architecture import architecture_analysis
from devops_orchestra.agents.compliance import compliance_check
from devops_orchestra.agents.dora import dora_metrics
from devops_orchestra.agents.pipeline import generate
from devops_orchestra.agents.runs import new_run_id
from devops_orchestra.agents.shared_work import Outcome, Shared
from devops_orchestra.core import proc
from devops_orchestra.core.workspace import Inventory
from devops_orchestra.models import AgentInfo, AgentList, PlannedAgent, ScannerStatus
from devops_orchestra.pipeline.lint import linter_versions
from devops_orchestra.render import dora as dora_render
from devops_orchestra.scanners import ALL

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


@dataclass(frozen=True)
class AgentSpec:
    """One agent as the review sees it."""

    name: str
    description: str
    tools: tuple[str, ...]
    scanners: tuple[str, ...]
    keywords: re.Pattern[str]
    applies: Callable[[Inventory], str | None]  # why it applies by default, or None
    work: Callable[[Shared], Awaitable[Outcome]]
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
    quiet = f"{report.inactive}; " if report.inactive else ""  # else a quiet repository reads as a slow team
    return Outcome([], quiet + dora_render.short_text(report).split(": ", 1)[-1])


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


def describe_agents() -> AgentList:
    """Each agent, its tools, and whether the scanners it needs are installed."""
    installed = {**linter_versions(), **{name: scanner.version() for name, scanner in ALL.items()}}
    return AgentList(agents=[
        AgentInfo(name=a.name, description=a.description, tools=list(a.tools),
                  scanners=[ScannerStatus(name=s, installed=installed.get(s) is not None, version=installed.get(s))
                            for s in a.scanners])
        for a in AGENTS
    ])

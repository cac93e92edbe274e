"""The SQL agent: migration safety, query anti-patterns and injection, over files or inline SQL."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from pathlib import Path, PurePosixPath
from typing import Any

from devops_orchestra.agents.runs import judge_test_code, new_run_id, rank_key, recorded
from devops_orchestra.agents.security import cores, default_timeout_s
from devops_orchestra.analyzers.sql.catalog import RULES
from devops_orchestra.analyzers.sql.files import (
    DOES_NOT_PARSE,
    NEEDS_NEWER_GRAMMAR,
    PythonNotAnalysed,
    analyse_python,
    analyse_sql,
    is_down_migration,
)
from devops_orchestra.analyzers.sql.statements import DIALECTS, SqlHit
from devops_orchestra.core import toolchain
from devops_orchestra.core.cache import ScanCache, keys_for
from devops_orchestra.core.errors import PathError, ScannerFailed, ScannerTimeout, ScannerUnavailable
from devops_orchestra.core.store import Store
from devops_orchestra.core.workspace import Inventory, SourceFile, build_inventory, changed_files
from devops_orchestra.models import (
    Finding,
    Location,
    Remediation,
    RunStatus,
    ScannerRun,
    ScanScope,
    SkippedFile,
    SqlReport,
)
from devops_orchestra.models.requests import SqlRequest
from devops_orchestra.scanners import semgrep_sql
from devops_orchestra.scanners.base import ScanJob, fingerprint

INLINE = "<inline>"
MIGRATION_DIRS = frozenset({"migrations", "migration", "migrate", "versions", "alembic"})
SEMGREP_LANGUAGES = ("javascript", "typescript", "go", "java")
READ_SUFFIXES = frozenset({".sql", ".py", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".go", ".java"})
SQL_HINT = re.compile(rb"(?i)\b(select|insert|update|delete)\b")  # files semgrep's SQL rules could match
CATEGORY = {"migration": "migration-safety", "query": "sql-anti-pattern", "injection": "sql-injection",
            "parse": "sql-parse-error"}


def check_dialect(dialect: str | None) -> str | None:
    """The dialect as given when sqlglot knows it (or None); ValueError naming the choices otherwise."""
    if dialect is not None and dialect not in DIALECTS:
        raise ValueError(f"Unknown SQL dialect {dialect!r}: use one of {', '.join(DIALECTS)}.")
    return dialect


async def sql_analysis(target: Path, *, sql: str | None = None, dialect: str | None = None,
                       display_path: str = ".", run_id: str | None = None,
                       inventory: Inventory | None = None, cache: ScanCache | None = None,
                       prescanned: Callable[[], Awaitable[semgrep_sql.Prescanned]] | None = None,
                       changed_since: str | None = None, staged: bool = False) -> SqlReport:
    """Analyse inline sql, or every SQL, Python migration and source file under target (a dir or a file).

    changed_since / staged: only the files git says changed since that ref / are staged (the migrations a
    change adds or edits, not those applied years ago).
    inventory: target's inventory when the caller has built it already.
    cache: what our analyses and semgrep found in each file before.
    prescanned: gets semgrep outputs with our rules that another agent's run produces (awaited only when
    semgrep is needed); the files they cover are not scanned again.
    """
    started = time.perf_counter()
    check_dialect(dialect)
    is_file = await asyncio.to_thread(target.is_file)
    unread: list[SkippedFile] = []
    if sql is not None:
        root = target.parent if is_file else target
        findings = [_finding(h, INLINE, sql.splitlines()) for h in analyse_sql(sql, dialect)]
        inventory, kinds, runs = Inventory(base=root, files=[]), {"sql": 1}, [_own_run(started, 1, findings)]
    else:
        only = None
        if changed_since is not None or staged:
            only = await asyncio.to_thread(changed_files, target, changed_since, staged)
        if inventory is None:
            inventory = await asyncio.to_thread(build_inventory, target, only)
        if is_file and inventory.skipped:
            raise PathError(f"{display_path!r} was not analysed: {inventory.skipped[0].reason}. "
                            "Pass a UTF-8 text file (.sql, .py...) or its directory.")
        if is_file and target.suffix.lower() not in READ_SUFFIXES:
            raise PathError(f"{display_path!r} is not a file with SQL in it that this agent reads "
                            f"({', '.join(sorted(READ_SUFFIXES))}): pass one of those, or a directory.")
        findings, kinds, unread = await asyncio.to_thread(_analyse_files, inventory, dialect, cache)
        runs = [_own_run(started, sum(kinds.values()), findings)]
        semgrep_run, semgrep_findings = await _semgrep(inventory, dialect, cache, prescanned)
        if semgrep_run.files:
            kinds["semgrep"] = semgrep_run.files
        runs.append(semgrep_run)
        findings = judge_test_code(findings + semgrep_findings, inventory)
    findings.sort(key=rank_key)
    scope = inventory.scope()
    scope.test_findings_demoted = sum(f.in_test_code for f in findings)
    _add_unread(scope, unread)
    if sql is None and (changed_since is not None or staged):
        scope.changed_only = "staged files" if staged else f"files changed since {changed_since}"
    return SqlReport(
        run_id=run_id or new_run_id(), root=str(inventory.base), path=display_path,
        duration_s=round(time.perf_counter() - started, 2), findings=findings,
        dialect=dialect or "detected", files_by_kind=dict(kinds), scanners=runs, scope=scope,
    )


async def recorded_sql_analysis(store: Store, request: SqlRequest, *, cache: ScanCache | None = None) -> SqlReport:
    """sql_analysis, kept in the run store."""
    return await recorded(store, "sql", request, lambda run_id: sql_analysis(
        request.target, sql=request.sql, dialect=request.dialect, display_path=request.display_path, run_id=run_id,
        cache=cache, changed_since=request.changed_since, staged=request.staged))


# What a file read as; each kind keeps its own cache entries. Python that does not parse is cached too, as
# the kind that says why it was not analysed (it counts in the scope, not in files_by_kind).
UNREAD = {"python-newer": NEEDS_NEWER_GRAMMAR, "python-broken": DOES_NOT_PARSE}
KINDS = ("sql", "alembic", "django", "code", *UNREAD)


def _add_unread(scope: ScanScope, unread: list[SkippedFile]) -> None:
    """Python no rule could read is left out of the analysis, and the scope says so (with a few examples)."""
    for s in unread:
        scope.files_scanned -= 1
        scope.files_skipped += 1
        scope.skipped_by_reason[s.reason] = scope.skipped_by_reason.get(s.reason, 0) + 1
        if scope.skipped_by_reason[s.reason] <= 3:
            scope.skipped_examples.append(s)


def _analyse_files(inventory: Inventory, dialect: str | None,
                   cache: ScanCache | None) -> tuple[list[Finding], Counter[str], list[SkippedFile]]:
    """Blocking: our own analyses of every .sql and .py file; files the cache knows are not read again.
    A file's entry sits under the kind it was read as, so a cached file still counts as that kind.
    Python that does not parse is not analysed: it comes back with why, for the scope."""
    files = [f for f in inventory.files if PurePosixPath(f.rel).suffix.lower() in (".sql", ".py")]
    analyser = f"sqlglot {version('sqlglot')}\0{dialect}"  # our analysers' code: in every key (rules_digest)
    keys = {kind: keys_for(f"sql-{kind}", analyser, files) for kind in KINDS} if cache else {}
    known = {kind: cache.lookup(keys[kind]) for kind in KINDS} if cache else {}
    findings: list[Finding] = []
    kinds: Counter[str] = Counter()
    fresh: dict[str, list[tuple[str, list[Finding]]]] = {kind: [] for kind in KINDS}
    unread: list[SkippedFile] = []
    for f in files:
        kind = next((k for k in KINDS if f.rel in known.get(k, {})), None)
        if kind:
            found = known[kind][f.rel]
        else:
            try:
                found, kind = _analyse_file(inventory.base, f.rel, dialect)
            except PythonNotAnalysed as exc:
                found, kind = [], next(k for k, reason in UNREAD.items() if reason == exc.reason)
            fresh[kind].append((f.rel, found))
        if kind in UNREAD:
            unread.append(SkippedFile(path=f.rel, reason=UNREAD[kind]))
            continue
        kinds[kind] += 1
        findings += found
    if cache:
        for kind, done in fresh.items():
            if done:
                cache.store({rel: keys[kind][rel] for rel, _ in done}, [f for _, found in done for f in found])
    return findings, kinds, unread


def _analyse_file(base: Path, rel: str, dialect: str | None) -> tuple[list[Finding], str]:
    path = PurePosixPath(rel)
    text = (base / rel).read_text(encoding="utf-8")
    if path.suffix.lower() == ".sql":
        hits, kind = analyse_sql(text, dialect, migrations=not is_down_migration(path.name)), "sql"
    else:
        hits, kind = analyse_python(text, dialect, is_migration_path=bool(MIGRATION_DIRS & set(path.parts[:-1])))
    lines = text.splitlines()
    return [_finding(h, rel, lines) for h in hits], kind


async def _semgrep(inventory: Inventory, dialect: str | None, cache: ScanCache | None,
                   prescanned: Callable[[], Awaitable[semgrep_sql.Prescanned]] | None,
                   ) -> tuple[ScannerRun, list[Finding]]:
    """Injection (the security agent's semgrep rules) and query anti-patterns in literal SQL, in
    JavaScript/TypeScript, Go and Java files that mention SQL; files the cache knows are not scanned again."""
    started = time.perf_counter()
    files = [f for f in inventory.with_language(*SEMGREP_LANGUAGES) if _mentions_sql(inventory.base, f)]
    semgrep_version = toolchain.version("semgrep")
    keys = keys_for("semgrep-sql", f"{semgrep_version}\0{dialect}", files) if cache and semgrep_version else {}
    cached = await asyncio.to_thread(cache.lookup, keys) if cache else {}

    def record(status: RunStatus, error: str | None = None, **extra: Any) -> ScannerRun:
        return ScannerRun.model_validate({"name": "semgrep", "version": semgrep_version, "status": status,
                                          "error": error, "files": len(files), "cached": len(cached),
                                          "duration_s": round(time.perf_counter() - started, 2), **extra})

    if not files:
        return record("skipped", "no JavaScript/TypeScript, Go or Java that mentions SQL"), []
    todo = [f for f in files if f.rel not in cached]
    findings = [f for found in cached.values() for f in found]
    if not todo:
        return record("ok", findings=len(findings)), findings
    shared = await prescanned() if prescanned else semgrep_sql.Prescanned()
    own = [f for f in todo if f.rel not in shared.files]
    try:
        result = semgrep_sql.from_raw(shared.raws, inventory.base, only={f.rel for f in todo})
        if own:
            job = ScanJob(base=inventory.base, files=own, cores=cores(), timeout_s=default_timeout_s())
            result = result + await semgrep_sql.scan(job)
    except ScannerUnavailable as exc:
        return record("unavailable", str(exc)), []
    except ScannerTimeout as exc:
        return record("timeout", str(exc)), []
    except ScannerFailed as exc:
        return record("failed", str(exc)), []
    rule_id = "sql:injection"
    found = [f.model_copy(update={
        "id": fingerprint(rule_id, f.location.path, f.location.snippet or ""), "rule_id": rule_id,
        "sources": [f.rule_id, *f.sources]}) for f in result.injections]
    for lit in result.literals:
        lines = (inventory.base / lit.path).read_text(encoding="utf-8").splitlines()
        found += [_finding(h, lit.path, lines) for h in analyse_sql(
            lit.text, dialect, line_offset=lit.line - 1, migrations=False, parse_errors=False)]
    if cache and not result.warnings:  # a file semgrep complained about is asked again next time
        await asyncio.to_thread(cache.store, {f.rel: keys[f.rel] for f in todo}, found)
    findings += found
    return record("ok", findings=len(findings), warnings=result.warnings[:10]), findings


def _mentions_sql(base: Path, f: SourceFile) -> bool:
    try:
        return bool(SQL_HINT.search((base / f.rel).read_bytes()))
    except OSError:
        return False


def _own_run(started: float, files: int, findings: list[Finding]) -> ScannerRun:
    return ScannerRun(name="sql", version=f"sqlglot {version('sqlglot')}", status="ok", files=files,
                      findings=len(findings), duration_s=round(time.perf_counter() - started, 2))


def _finding(hit: SqlHit, path: str, lines: list[str]) -> Finding:
    rule = RULES[hit.rule]
    rule_id = f"sql:{rule.id}"
    snippet = "\n".join(lines[hit.line - 1: min(hit.end_line, hit.line + 4)]).rstrip()
    injection = rule.kind == "injection"
    return Finding(
        id=fingerprint(rule_id, path, f"{hit.context or snippet}\0{hit.message}"),  # two columns, one statement
        rule_id=rule_id,
        scanner="sql",
        category=CATEGORY[rule.kind],
        severity=rule.severity,
        confidence="high" if rule.kind in ("migration", "parse") else "medium",
        title=rule.title,
        message=f"{hit.message} {rule.why}",
        location=Location(path=path, start_line=hit.line, end_line=max(hit.line, hit.end_line),
                          snippet=snippet or None),
        cwe="CWE-89" if injection else None,
        owasp="A03:2021 - Injection" if injection else None,
        remediation=Remediation(summary=rule.safe, fix=hit.fix, references=[rule.reference]),
    )

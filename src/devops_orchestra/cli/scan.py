"""`scan`, `comply` and `sql`: the analyses that run scanners over a path and report findings."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from devops_orchestra.cli import output, paths
from devops_orchestra.models import Severity
from devops_orchestra.models.security import SECURITY_SCANNERS

if TYPE_CHECKING:
    from devops_orchestra.core.cache import ScanCache
    from devops_orchestra.models import Finding

SEVERITIES = [s.value for s in Severity]


def add_scan(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The scan command: a security scan of a directory or file."""
    scan = sub.add_parser("scan", help="security scan of a directory or file")
    paths.add_path_argument(scan)
    output.add_format_argument(scan, "sarif")
    scan.add_argument("--scanners", default=None,
                      help=f"comma-separated subset of {','.join(SECURITY_SCANNERS)} (default: all that apply)")
    scan.add_argument("--min-severity", choices=SEVERITIES, default="info")
    _fail_on_argument(scan)
    scan.add_argument("--changed-since", metavar="REF", default=None,
                      help="only files changed since this git ref (e.g. main, HEAD~3)")
    scan.add_argument("--staged", action="store_true", help="only files staged for commit")
    scan.add_argument("--no-cache", action="store_true", help="scan every file again, ignoring the scan cache")
    scan.add_argument("--osv-db", metavar="PATH", type=Path, default=None,
                      help="deps: an OSV export zip (or a directory of them) instead of the online OSV API")
    scan.set_defaults(handler=_scan)


def add_comply(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The comply command: SOC 2, HIPAA, PCI DSS and organisation policies, with a gate."""
    comply = sub.add_parser("comply", help="compliance check: SOC 2, HIPAA, PCI DSS and your own policies")
    paths.add_path_argument(comply)
    comply.add_argument("--framework", action="append", default=None, metavar="ID",
                        help="soc2, hipaa, pci-dss or an organisation framework id (repeatable; default: all)")
    output.add_format_argument(comply, "sarif", "markdown")
    comply.add_argument("--fail-on-gate", action="store_true", help="exit 1 when a gate blocks")
    comply.add_argument("--no-cache", action="store_true", help="scan every file again, ignoring the scan cache")
    comply.set_defaults(handler=_comply)


def add_sql(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The sql command: migration safety, query anti-patterns and injection, in files or given text."""
    sql = sub.add_parser("sql", help="SQL analysis: migration safety, query anti-patterns, injection")
    paths.add_path_argument(sql)
    sql.add_argument("--sql", default=None, metavar="TEXT", help="check this SQL text instead of files")
    sql.add_argument("--dialect", default=None, help="postgres, mysql, sqlite, snowflake, bigquery, tsql... "
                     "(default: detected per file, else postgres)")
    output.add_format_argument(sql)
    _fail_on_argument(sql)
    sql.add_argument("--changed-since", metavar="REF", default=None,
                     help="only files changed since this git ref (e.g. main, HEAD~3): the migrations a change adds")
    sql.add_argument("--staged", action="store_true", help="only files staged for commit")
    sql.add_argument("--no-cache", action="store_true", help="run semgrep on every file again")
    sql.set_defaults(handler=_sql)


def _fail_on_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fail-on", choices=SEVERITIES, default=None,
                        help="exit 1 when a finding at or above this severity exists")


def _fails(findings: list[Finding], fail_on: str | None) -> bool:
    return fail_on is not None and any(f.severity.rank >= Severity(fail_on).rank for f in findings)


def _cache(args: argparse.Namespace) -> ScanCache | None:
    from devops_orchestra.core.cache import ScanCache

    return None if args.no_cache else ScanCache()


def _scan(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.security import recorded_security_scan
    from devops_orchestra.core.store import open_store
    from devops_orchestra.models import SecurityReport
    from devops_orchestra.models.requests import SecurityScanRequest
    from devops_orchestra.render.security import full_text
    from devops_orchestra.scanners.checkov_warm import warming

    scanners = [s.strip() for s in args.scanners.split(",")] if args.scanners else None
    unknown = set(scanners or []) - set(SECURITY_SCANNERS)
    if unknown:
        print(f"devops-orchestra: unknown scanner(s) {', '.join(sorted(unknown))}; "
              f"choose from {', '.join(SECURITY_SCANNERS)}", file=sys.stderr)
        return 2
    target = paths.resolve(args.path)
    if args.osv_db is not None:
        _use_osv_export(args.osv_db)
    async def scan() -> SecurityReport:
        async with warming(target, checkov_wanted="checkov" in (scanners or SECURITY_SCANNERS)) as warm:
            return await recorded_security_scan(open_store(), SecurityScanRequest(
                target=target, display_path=str(args.path), scanners=scanners,
                min_severity=Severity(args.min_severity), changed_since=args.changed_since, staged=args.staged),
                cache=_cache(args), runners=warm)

    report = asyncio.run(scan())
    output.print_report(report, args.format, full_text)
    return 1 if _fails(report.findings, args.fail_on) else 0


def _use_osv_export(path: Path) -> None:
    from devops_orchestra.scanners.deps import OSV_DB_ENV
    from devops_orchestra.scanners.deps.osv import OsvExport

    db = path.absolute()
    OsvExport.open(db)  # a bad path is a clear error now, not a failed scanner later; indexed once
    os.environ[OSV_DB_ENV] = str(db)


def _comply(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.compliance import recorded_compliance_check
    from devops_orchestra.core.store import open_store
    from devops_orchestra.models.requests import ComplianceRequest
    from devops_orchestra.render.compliance import full_text, markdown

    target = paths.resolve(args.path)
    report = asyncio.run(recorded_compliance_check(open_store(), ComplianceRequest(
        target=target, display_path=str(args.path), frameworks=args.framework), cache=_cache(args)))
    output.print_report(report, args.format, full_text, markdown=markdown)
    return 1 if args.fail_on_gate and report.gate.status == "blocked" else 0


def _sql(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.sql import check_dialect, recorded_sql_analysis
    from devops_orchestra.core.store import open_store
    from devops_orchestra.models.requests import SqlRequest
    from devops_orchestra.render.sql import full_text

    try:
        check_dialect(args.dialect)
    except ValueError as exc:
        print(f"devops-orchestra: {exc}", file=sys.stderr)
        return 2
    target = paths.resolve(args.path)
    report = asyncio.run(recorded_sql_analysis(open_store(), SqlRequest(
        target=target, sql=args.sql, dialect=args.dialect, changed_since=args.changed_since, staged=args.staged,
        display_path="<inline>" if args.sql is not None else str(args.path)), cache=_cache(args)))
    output.print_report(report, args.format, full_text, end="")  # the text ends in its own newline; JSON never had one
    return 1 if _fails(report.findings, args.fail_on) else 0

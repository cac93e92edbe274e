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
    try:
        return int(args.handler(args) or 0)
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
    scan.set_defaults(handler=_scan)

    tools = sub.add_parser("tools", help="the scanners: install the pinned versions, or show what is there")
    tools.add_argument("action", choices=["install", "status"])
    tools.set_defaults(handler=_tools)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from devops_orchestra.errors import OrchestraError
    from devops_orchestra.server import create_server

    try:
        server = create_server(args.root or [Path.cwd()])
    except OrchestraError as exc:
        print(f"devops-orchestra: {exc}", file=sys.stderr)
        return 2
    server.run()
    return 0


def _scan(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.security import security_scan
    from devops_orchestra.errors import OrchestraError
    from devops_orchestra.models import Severity
    from devops_orchestra.report import full_text
    from devops_orchestra.workspace import Roots

    scanners = [s.strip() for s in args.scanners.split(",")] if args.scanners else None
    unknown = set(scanners or []) - set(SCANNER_NAMES)
    if unknown:
        print(f"devops-orchestra: unknown scanner(s) {', '.join(sorted(unknown))}; "
              f"choose from {', '.join(SCANNER_NAMES)}", file=sys.stderr)
        return 2
    try:
        target = Roots([Path("/")]).resolve(str(args.path.absolute()))  # the shell may read anything
        report = asyncio.run(security_scan(
            target, scanners=scanners, min_severity=Severity(args.min_severity), display_path=str(args.path)
        ))
    except OrchestraError as exc:
        print(f"devops-orchestra: {exc}", file=sys.stderr)
        return 2
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

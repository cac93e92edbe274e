"""`serve`: the MCP server over stdio for one developer's IDE, or over HTTP as a team server."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The serve command: roots tools may read, and the team server's settings."""
    serve = sub.add_parser("serve", help="run the MCP server over stdio, or over HTTP as a team server")
    serve.add_argument("--root", action="append", type=Path, default=None, metavar="DIR",
                       help="a directory tools may read (repeatable; default: the working directory)")
    _http_arguments(serve)
    serve.set_defaults(handler=_serve)


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

"""`serve`: the MCP server over stdio for one developer's IDE, or over HTTP as a team server."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devops_orchestra.server.toolsets import Selection


def add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The serve command: roots tools may read, and the team server's settings."""
    serve = sub.add_parser("serve", help="run the MCP server over stdio, or over HTTP as a team server")
    serve.add_argument("--root", action="append", type=Path, default=None, metavar="DIR",
                       help="a directory tools may read (repeatable; default: the working directory)")
    _tool_arguments(serve)
    _http_arguments(serve)
    serve.set_defaults(handler=_serve)


def _tool_arguments(serve: argparse.ArgumentParser) -> None:
    from devops_orchestra.server.toolsets import READ_ONLY_ENV, TOOLS_ENV, TOOLSETS, TOOLSETS_ENV

    tools = serve.add_argument_group("which tools (a hidden tool cannot be called either)")
    tools.add_argument("--toolsets", default=None, metavar="NAME,...",
                       help=f"toolsets to offer: {', '.join(TOOLSETS)} (default: all; also ${TOOLSETS_ENV})")
    tools.add_argument("--tools", default=None, metavar="NAME,...",
                       help=f"single tools to offer, besides the toolsets or alone (also ${TOOLS_ENV})")
    tools.add_argument("--read-only", action="store_true", default=None,
                       help=f"only tools that change nothing: no files written, no pipeline run "
                            f"(also ${READ_ONLY_ENV}=1)")
    tools.add_argument("--allow-deploy", action="store_true", default=None,
                       help="offer the deploy tools (deploy, rollout_status, rollback), which start and switch "
                            "environments; never with --read-only (also $DEVOPS_ORCHESTRA_ALLOW_DEPLOY=1)")


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
    roots = args.root or [Path.cwd()]
    chosen, where = _selection(args)
    if args.http:
        return _serve_http(args, roots, chosen, where)
    with _no_collection_while_starting():
        from devops_orchestra.server.app import create_server

        server = create_server(roots, chosen, where)
    server.run()
    return 0


@contextmanager
def _no_collection_while_starting() -> Iterator[None]:
    """No garbage collection while mcp, the models and every tool's schemas are built: they all live as long as
    the server, yet full collections walked them over and over (about 100 ms of a 0.8 s start to tools/list).
    Then they are frozen out of later collections, which go on as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _selection(args: argparse.Namespace) -> tuple[Selection, str]:
    """The tools chosen by the flags, each flag falling back on its environment variable; and what chose."""
    from devops_orchestra.server import toolsets as t

    env = os.environ
    toolsets = args.toolsets if args.toolsets is not None else env.get(t.TOOLSETS_ENV)
    tools = args.tools if args.tools is not None else env.get(t.TOOLS_ENV)
    read_only = bool(args.read_only) or t.truthy(env.get(t.READ_ONLY_ENV))
    allow_deploy = bool(args.allow_deploy) or t.truthy(env.get(t.ALLOW_DEPLOY_ENV))
    where = "--toolsets" if args.toolsets is not None else f"${t.TOOLSETS_ENV}"
    chosen = t.selection(toolsets, tools, read_only, where, allow_deploy)
    return chosen, "--tools" if args.tools is not None else f"${t.TOOLS_ENV}"


def _serve_http(args: argparse.Namespace, roots: list[Path], chosen: Selection, where: str) -> int:
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
    run_team_server(roots, settings, chosen, where)
    return 0

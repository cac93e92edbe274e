"""Command line: serve the MCP server, scan from a shell or CI, manage the scanner installs."""

from __future__ import annotations

import argparse
import gc
import os
import sys

# Each command module imports the heavy parts (agents, scanners, mcp) inside its handlers: --help stays fast.
# The models they name are built without garbage collections, which only walk them (serve's start: ~10 ms).
_collecting = gc.isenabled()
gc.disable()
from devops_orchestra.cli import (  # noqa: E402
    arch,
    deploy,
    dora,
    generate,
    history,
    hook,
    orchestra,
    review,
    scan,
    serve,
    tests,
    tools,
    webhooks,
)

if _collecting:
    gc.enable()

# The commands in the order --help lists them.
COMMANDS = (
    serve.add_serve, scan.add_scan, scan.add_comply, dora.add_dora, review.add_review, review.add_agents,
    history.add_history, history.add_compare, scan.add_sql, generate.add_generate, generate.add_init,
    arch.add_arch, hook.add_hook, orchestra.add_submit, orchestra.add_worker, orchestra.add_runs, orchestra.add_bus,
    deploy.add_deploy, deploy.add_rollback, deploy.add_rollouts, deploy.add_undeploy, tests.add_tests,
    webhooks.add_webhooks, tools.add_tools,
)


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code: 2 with a message for bad input, never a traceback."""
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
    for add in COMMANDS:
        add(sub)
    return parser

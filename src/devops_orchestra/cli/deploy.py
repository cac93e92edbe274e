"""`deploy`, `rollback`, `rollouts` and `undeploy`: a service's environments from a shell. Environments,
services and SLOs come from devops_orchestra.yaml in --path (default: the working directory)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from devops_orchestra.cli import output

if TYPE_CHECKING:
    from devops_orchestra.models.deploy import DeploymentRecord

    Sub = argparse._SubParsersAction[argparse.ArgumentParser]


def _add_target_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("service")
    p.add_argument("--env", required=True, metavar="ENV", help="an environment of deployment.environments")
    p.add_argument("--path", type=Path, default=Path("."), help="the repository (default: the working directory)")


def add_deploy(sub: Sub) -> None:
    """The deploy command: plan, confirm, deploy, watch; ends succeeded, rolled_back or failed."""
    p = sub.add_parser("deploy", help="deploy a service's commit to an environment, watch its SLOs, roll back "
                                      "on a breach")
    _add_target_arguments(p)
    p.add_argument("--ref", required=True, help="branch, tag or sha to deploy")
    p.add_argument("--strategy", choices=["rolling", "blue-green", "canary"], default=None,
                   help="default: the environment's, else deployment.strategy")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    output.add_format_argument(p)
    p.set_defaults(handler=_deploy)


def add_rollback(sub: Sub) -> None:
    """The rollback command: the version before the stable one back in service."""
    p = sub.add_parser("rollback", help="put the previous version of a service back (instant after blue-green)")
    _add_target_arguments(p)
    output.add_format_argument(p)
    p.set_defaults(handler=_rollback)


def add_rollouts(sub: Sub) -> None:
    """The rollouts command: deployments recorded, newest first."""
    p = sub.add_parser("rollouts", help="current and past deployments, with their outcome")
    p.add_argument("--limit", type=int, default=50, metavar="N")
    output.add_format_argument(p)
    p.set_defaults(handler=_rollouts)


def add_undeploy(sub: Sub) -> None:
    """The undeploy command: stop a local environment's instances, proxy and watchers."""
    p = sub.add_parser("undeploy", help="stop everything a service runs in an environment")
    _add_target_arguments(p)
    p.set_defaults(handler=_undeploy)


def _user() -> str:
    try:
        return f"{getpass.getuser()} (cli)"
    except (KeyError, OSError):
        return "cli"


def _ends(record: DeploymentRecord, fmt: str) -> int:
    from devops_orchestra.render.deploy import record_text

    output.print_report(record, fmt, record_text)
    return 0 if record.state == "succeeded" else 1


def _deploy(args: argparse.Namespace) -> int:
    from devops_orchestra.core.store import open_store
    from devops_orchestra.deploy import rollout
    from devops_orchestra.render.deploy import plan_text

    config, store = rollout.config_at(args.path), open_store()
    plan = asyncio.run(rollout.plan(config, args.path.absolute(), store, service=args.service,
                                    environment=args.env, ref=args.ref, strategy=args.strategy,
                                    started_by=_user()))
    print(plan_text(plan), file=sys.stderr if args.format == "json" else sys.stdout)
    if not args.yes:
        if not sys.stdin.isatty():
            print("devops-orchestra: not confirmed (no terminal to ask); add --yes to deploy", file=sys.stderr)
            return 2
        if input("Deploy? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Not deployed.")
            return 1
    say = (lambda line: print(line, file=sys.stderr)) if args.format == "json" else print
    return _ends(asyncio.run(rollout.execute(plan, config, store, say)), args.format)


def _rollback(args: argparse.Namespace) -> int:
    from devops_orchestra.core.store import open_store
    from devops_orchestra.deploy import rollout

    say = (lambda line: print(line, file=sys.stderr)) if args.format == "json" else print
    record = asyncio.run(rollout.rollback(rollout.config_at(args.path), args.path.absolute(), open_store(),
                                          service=args.service, environment=args.env, started_by=_user(), say=say))
    return _ends(record, args.format)


def _rollouts(args: argparse.Namespace) -> int:
    from devops_orchestra.core.store import open_store
    from devops_orchestra.models.deploy import Rollouts
    from devops_orchestra.render.deploy import rollouts_text

    output.print_report(Rollouts(deployments=open_store().deployments(limit=args.limit)), args.format,
                        rollouts_text)
    return 0


def _undeploy(args: argparse.Namespace) -> int:
    from devops_orchestra.deploy import rollout

    left = asyncio.run(rollout.undeploy(rollout.config_at(args.path), service=args.service, environment=args.env))
    print(f"{args.service} stopped in {args.env}: {left}.")
    return 0

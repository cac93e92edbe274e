"""`dora`: DORA metrics from the git history of a repository."""

from __future__ import annotations

import argparse

from devops_orchestra.cli import output, paths
from devops_orchestra.models.dora import DEPLOYMENT_SOURCES


def add_dora(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The dora command: the four metrics over a number of days, from tags or merges."""
    dora = sub.add_parser("dora", help="DORA metrics from git history")
    paths.add_path_argument(dora)
    dora.add_argument("--days", type=int, default=90)
    dora.add_argument("--deployments", choices=DEPLOYMENT_SOURCES, default="auto",
                      help="what counts as a deployment (auto: those recorded by `deploy` if any, else release "
                           "tags if any, else merges)")
    dora.add_argument("--tag-pattern", default="*", help="release tags to count, e.g. 'v*'")
    dora.add_argument("--include-prereleases", action="store_true",
                      help="count pre-release tags (1.2.3-rc1, v4.7.0-beta1, 1.2.3b2, 1.2.3.dev4) as deployments")
    output.add_format_argument(dora)
    dora.set_defaults(handler=_dora)


def _dora(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.dora import dora_metrics
    from devops_orchestra.core.store import open_store
    from devops_orchestra.render.dora import full_text

    # Not paths.resolve: git finds the repository from here, and says so when there is none.
    report = dora_metrics(args.path.absolute(), days=args.days, deployments=args.deployments,
                          tag_pattern=args.tag_pattern, include_prereleases=args.include_prereleases,
                          display_path=str(args.path), store=open_store())
    output.print_report(report, args.format, full_text)
    return 0

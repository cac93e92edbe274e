"""`review` and `agents`: the agents a repository calls for with one verdict, and what each agent is."""

from __future__ import annotations

import argparse
import asyncio

from devops_orchestra.cli import output, paths


def add_review(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The review command: plan the agents, run them, give one verdict."""
    review = sub.add_parser("review", help="run the agents a repository calls for and give one verdict")
    paths.add_path_argument(review)
    review.add_argument("--request", default="", help="what to look at, e.g. 'check SOC2 gaps'")
    review.add_argument("--changed-since", metavar="REF", default=None)
    review.add_argument("--plan-only", action="store_true", help="show which agents would run and why")
    output.add_format_argument(review)
    review.add_argument("--fail-on-verdict", action="store_true", help="exit 1 unless the verdict is safe to merge")
    review.set_defaults(handler=_review)


def add_agents(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The agents command: each agent with its tools and scanners."""
    agents = sub.add_parser("agents", help="the agents, their tools and scanners")
    agents.add_argument("action", choices=["list"])
    agents.set_defaults(handler=_agents)


def _review(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.review import recorded_review
    from devops_orchestra.core.cache import ScanCache
    from devops_orchestra.core.store import open_store
    from devops_orchestra.models.requests import ReviewRequest
    from devops_orchestra.render.review import short_text

    target = paths.resolve(args.path)
    report = asyncio.run(recorded_review(open_store(), ReviewRequest(
        target=target, display_path=str(args.path), request=args.request, changed_since=args.changed_since,
        plan_only=args.plan_only), cache=ScanCache()))
    output.print_report(report, args.format, lambda r: short_text(r, top=20))
    return 1 if args.fail_on_verdict and report.verdict not in ("safe to merge", "plan only") else 0


def _agents(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.registry import describe_agents

    for agent in describe_agents().agents:
        scanners = ", ".join(f"{s.name} {s.version or 'NOT INSTALLED'}" for s in agent.scanners) or "none"
        print(f"{agent.name:<12} {agent.description}\n{'':<12} tools: {', '.join(agent.tools)}; scanners: {scanners}")
    return 0

"""`generate` and `init`: Dockerfiles, CI and deploy manifests for a repository, and its settings file."""

from __future__ import annotations

import argparse
import asyncio
import sys

from devops_orchestra.cli import output, paths
from devops_orchestra.models.pipeline import ARTIFACTS


def add_generate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The generate command: the artifacts that fit, validated by linters, written on request."""
    generate = sub.add_parser("generate", help="generate Dockerfiles, CI and deploy manifests, validated by linters")
    paths.add_path_argument(generate)
    generate.add_argument("--artifacts", default=None,
                          help=f"comma-separated subset of {','.join(ARTIFACTS)} (default: all that fit)")
    generate.add_argument("--write", action="store_true", help="write the files into the repository")
    generate.add_argument("--overwrite", action="store_true", help="with --write: replace existing files")
    output.add_format_argument(generate)
    generate.set_defaults(handler=_generate)


def add_init(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The init command: write devops_orchestra.yaml as inferred from the repository."""
    init = sub.add_parser("init", help="write devops_orchestra.yaml inferred from the repository")
    paths.add_path_argument(init)
    init.set_defaults(handler=_init)


def _generate(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.pipeline import recorded_generate
    from devops_orchestra.core.store import open_store
    from devops_orchestra.models.requests import PipelineRequest
    from devops_orchestra.render.pipeline import as_text

    artifacts = [a.strip() for a in args.artifacts.split(",")] if args.artifacts else None
    unknown = set(artifacts or []) - set(ARTIFACTS)
    if unknown:
        print(f"devops-orchestra: unknown artifact(s) {', '.join(sorted(unknown))}; choose from {', '.join(ARTIFACTS)}",
              file=sys.stderr)
        return 2
    root = paths.resolve(args.path)
    report = asyncio.run(recorded_generate(open_store(), PipelineRequest(
        target=root, display_path=str(args.path), artifacts=artifacts, write=args.write, overwrite=args.overwrite)))
    output.print_report(report, args.format, lambda r: as_text(r, contents=not args.write))
    return 0 if report.clean else 1


def _init(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.pipeline import init_config

    target, _ = init_config(paths.resolve(args.path))
    print(f"wrote {target}")
    return 0

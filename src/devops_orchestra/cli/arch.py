"""`arch`: architecture analysis of a directory, with its Mermaid diagrams written on request."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from devops_orchestra.cli import output, paths


def add_arch(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The arch command: components, stores, imports and findings of a directory."""
    arch = sub.add_parser("arch", help="architecture analysis of a directory: components, stores, imports, findings")
    paths.add_path_argument(arch)
    output.add_format_argument(arch)
    arch.add_argument("--diagram", type=Path, default=None, metavar="FILE",
                      help="write the Mermaid diagrams: both in fenced blocks to a .md file, else the system flowchart")
    arch.set_defaults(handler=_arch)


def _arch(args: argparse.Namespace) -> int:
    from devops_orchestra.agents.architecture import recorded_architecture_analysis
    from devops_orchestra.core.errors import PathError
    from devops_orchestra.core.store import open_store
    from devops_orchestra.models.requests import ArchitectureRequest
    from devops_orchestra.render.architecture import full_text

    target = paths.resolve(args.path)
    if not target.is_dir():
        raise PathError(f"{args.path} is a file: give a directory (a repository or one service's folder).")
    request = ArchitectureRequest(target=target, display_path=str(args.path))
    report = asyncio.run(recorded_architecture_analysis(open_store(), request))
    if args.diagram:
        d = report.diagrams
        text = (f"```mermaid\n{d.components}```\n\n```mermaid\n{d.packages}```\n"
                if args.diagram.suffix.lower() == ".md" else d.components)
        args.diagram.write_text(text, encoding="utf-8")
    written = f"\n\nDiagram written to {args.diagram}" if args.diagram else ""
    output.print_report(report, args.format, lambda r: full_text(r) + written)
    return 0

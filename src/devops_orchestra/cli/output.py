"""How a command prints its report: JSON, SARIF, Markdown or its own text, one switch for every command."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

R = TypeVar("R", bound="BaseModel")


def add_format_argument(parser: argparse.ArgumentParser, *more: str) -> None:
    """--format: text (the default) or json, and whichever more formats the command can print."""
    parser.add_argument("--format", choices=["text", "json", *more], default="text")


def print_report(report: R, fmt: str, text: Callable[[R], str], *,
                 markdown: Callable[[R], str] | None = None, end: str = "\n") -> None:
    """Print report as fmt asks; text and markdown are the command's own renderers of it."""
    if fmt == "json":
        out = report.model_dump_json(indent=2, exclude_none=True)
    elif fmt == "sarif":
        from devops_orchestra.models import AgentReport
        from devops_orchestra.render.sarif import to_sarif

        if not isinstance(report, AgentReport):
            raise TypeError(f"{type(report).__name__} has no SARIF form: offer --format sarif only for agent reports")
        out = json.dumps(to_sarif(report), indent=2)
    elif fmt == "markdown" and markdown is not None:
        out, end = markdown(report), ""  # Markdown ends in its own newline
    else:
        out = text(report)
    print(out, end=end)

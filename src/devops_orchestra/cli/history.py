"""`history` and `compare`: the runs the store keeps, and what changed between two of them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from devops_orchestra.cli import output

if TYPE_CHECKING:
    from devops_orchestra.core.store import Comparison


def add_history(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The history command: recent runs, newest first, of one directory or all."""
    history = sub.add_parser("history", help="recent runs, newest first")
    history.add_argument("path", nargs="?", default=None, type=Path, help="only runs of this directory")
    history.add_argument("--limit", type=int, default=20)
    history.set_defaults(handler=_history)


def add_compare(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The compare command: new, fixed and unchanged findings between two runs."""
    compare = sub.add_parser("compare", help="new, fixed and unchanged findings between two runs")
    compare.add_argument("base_run_id")
    compare.add_argument("head_run_id")
    output.add_format_argument(compare)
    compare.set_defaults(handler=_compare)


def _history(args: argparse.Namespace) -> int:
    from datetime import datetime

    from devops_orchestra.core.store import open_store

    root = args.path.resolve() if args.path else None  # a filter on recorded roots: it need not exist any more
    runs = open_store().history(root, args.limit)
    if not runs:
        print("no runs yet" + (f" for {root}" if root else ""))
    for run in runs:
        when = datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M:%S")
        counts = (f"{run.summary.total} findings (critical {run.summary.critical}, high {run.summary.high})"
                  if run.summary else run.error or "")
        commit = f" @{run.git_commit[:8]}" if run.git_commit else ""
        print(f"{run.run_id}  {when}  {run.agent:<12} {run.state:<9} {run.root}{commit}  {counts}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from devops_orchestra.core.store import compare, open_store

    store = open_store()
    ids = (args.base_run_id, args.head_run_id)
    found = [store.findings(run_id) for run_id in ids]
    missing = [r for r, f in zip(ids, found, strict=True) if f is None]
    if missing:
        print(f"devops-orchestra: no finished run {', '.join(missing)} (see `devops-orchestra history`)",
              file=sys.stderr)
        return 2
    base, head = found
    assert base is not None and head is not None
    result = compare(args.base_run_id, base, args.head_run_id, head, limit=1000)
    output.print_report(result, args.format, _comparison_text)
    return 0


def _comparison_text(result: Comparison) -> str:
    lines = [f"{result.new_total} new, {result.fixed_total} fixed, {result.unchanged} unchanged "
             f"({result.base_run_id} -> {result.head_run_id})"]
    for label, findings in (("new", result.new), ("fixed", result.fixed)):
        for f in findings:
            where = f"{f.location.path}:{f.location.start_line}"
            lines.append(f"  {label:<5} [{f.severity.value}] {where} {f.title} ({f.rule_id})")
    return "\n".join(lines)

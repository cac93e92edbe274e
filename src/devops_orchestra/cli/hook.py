"""`hook post-edit`: Claude Code's PostToolUse hook, a security scan of the file an edit just wrote.

Reads the hook's JSON on stdin, scans the edited file with the security scanners and the scan cache, and answers
with the hook's blocking decision ({"decision": "block", "reason": ...} on stdout, exit 0) when the edit leaves a
high or critical finding that the last full scan of the project did not have. Anything it cannot judge (bad
input, a path outside the project, a scan past its time limit) is a line on stderr and exit 0: a hook that
fails must never stop the person editing. See docs/ide-hook.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pydantic import BaseModel, ConfigDict, ValidationError

if TYPE_CHECKING:
    from devops_orchestra.models import Finding, SecurityReport

EDIT_TOOLS = ("Edit", "Write", "MultiEdit")
DEFAULT_TIMEOUT_S = 20.0  # under Claude Code's 60 s hook limit, with room for our own start
MAX_INPUT = 64 * 1024 * 1024  # a Write carries the whole file; more than this is not an edit we can judge
# deps asks OSV over the network about lock files and is never cached: too slow for every keystroke's edit.
HOOK_SCANNERS = ("semgrep", "bandit", "secrets", "checkov", "zizmor")
PREFIX = "devops-orchestra hook post-edit"


class ToolInput(BaseModel):
    model_config = ConfigDict(extra="ignore")
    file_path: str


class PostToolUse(BaseModel):
    """The fields of Claude Code's PostToolUse input that this hook reads; the rest is ignored."""

    model_config = ConfigDict(extra="ignore")
    hook_event_name: str = "PostToolUse"
    cwd: str | None = None
    tool_name: str
    tool_input: dict[str, object]


class Skip(Exception):  # not an error: why this edit is not checked
    """The edit is not checked; the message says why and what to do."""


def add_hook(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The hook command: hooks an editor or agent runs around its edits."""
    hook = sub.add_parser("hook", help="IDE hooks: scan what an agent just edited (Claude Code PostToolUse)")
    events = hook.add_subparsers(dest="event", required=True)
    post_edit = events.add_parser(
        "post-edit", help="read Claude Code's PostToolUse JSON on stdin; block when the edit leaves a high or "
                          "critical finding in the edited file")
    post_edit.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                           help=f"give up (without blocking) after this many seconds (default {DEFAULT_TIMEOUT_S:g})")
    post_edit.set_defaults(handler=_post_edit)


def _post_edit(args: argparse.Namespace) -> int:
    """Always exit 0: the decision travels as JSON on stdout, trouble as a line on stderr."""
    try:
        root, rel = _edited_file(_read_input(sys.stdin.buffer))
        report = asyncio.run(_scan(root, rel, args.timeout))
        blocking = _blocking(report, rel, _baseline_ids(root))
    except Skip as skip:
        print(f"{PREFIX}: {skip}", file=sys.stderr)
        return 0
    except Exception as exc:  # a crash here would stop the IDE's edit loop; say it and let it go on
        print(f"{PREFIX}: not checked, unexpected {type(exc).__name__}: {exc}. Run `devops-orchestra scan` on the "
              "file to see what is wrong, and report it.", file=sys.stderr)
        return 0
    if not report.scope.files_scanned:  # say so: a silent exit would read as "checked, clean"
        why = next((s.reason for s in report.scope.skipped_examples if s.path == rel), "ignored by git")
        print(f"{PREFIX}: not checked: {rel} is left out of scans ({why})", file=sys.stderr)
    for run in report.scanners:
        if run.status in ("failed", "timeout", "unavailable"):
            print(f"{PREFIX}: {run.name} {run.status}: {run.error}", file=sys.stderr)
    if blocking:
        print(json.dumps({"decision": "block", "reason": _reason(rel, blocking)}))
    return 0


def _read_input(stream: BinaryIO) -> PostToolUse:
    raw = stream.read(MAX_INPUT + 1)
    if len(raw) > MAX_INPUT:
        raise Skip(f"not checked: the hook input is over {MAX_INPUT // 2**20} MiB")
    try:
        return PostToolUse.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        first = str(exc).splitlines()[0][:200]
        raise Skip("not checked: stdin is not Claude Code's PostToolUse hook JSON "
                   f"(tool_name, tool_input.file_path, cwd): {first}") from None


def _edited_file(event: PostToolUse) -> tuple[Path, str]:
    """The project root and the edited file relative to it.

    The root is $CLAUDE_PROJECT_DIR (Claude Code sets it for hooks; the session's cwd may have moved below it),
    else the session's cwd: a full `scan` of it is what the cache and the baseline know.
    """
    if event.hook_event_name != "PostToolUse":
        raise Skip(f"not checked: this is a {event.hook_event_name} event; register the hook under PostToolUse")
    if event.tool_name not in EDIT_TOOLS:
        raise Skip(f"not checked: {event.tool_name} is not a file edit ({', '.join(EDIT_TOOLS)}); "
                   "give the hook the matcher Edit|Write|MultiEdit")
    try:
        path = ToolInput.model_validate(event.tool_input).file_path
    except ValidationError:
        raise Skip(f"not checked: {event.tool_name}'s tool_input has no file_path") from None
    root = Path(os.environ.get("CLAUDE_PROJECT_DIR") or event.cwd or os.getcwd()).resolve()
    file = (root / path).resolve()  # an absolute file_path replaces root; links are followed
    if not file.is_relative_to(root):
        raise Skip(f"not checked: {path} is outside the project directory {root}")
    if not file.is_file():
        raise Skip(f"not checked: {path} does not exist (or is not a file)")
    return root, file.relative_to(root).as_posix()


async def _scan(root: Path, rel: str, timeout_s: float) -> SecurityReport:
    from devops_orchestra.agents.security import security_scan
    from devops_orchestra.core.cache import ScanCache

    # Scanned as part of root (not as a lone file) so the cache keys match a full `scan` of the project.
    try:
        return await asyncio.wait_for(security_scan(
            root, scanners=HOOK_SCANNERS, files=[rel], display_path=rel, timeout_s=timeout_s, cache=ScanCache()),
            timeout_s)
    except TimeoutError:
        raise Skip(f"not checked: the scan of {rel} took over {timeout_s:g} s. Run `devops-orchestra scan` once "
                   "to fill the scan cache, or raise --timeout") from None


def _baseline_ids(root: Path) -> set[str] | None:
    """Finding ids of the last full security scan of root, or None when there is none (or no readable store)."""
    from devops_orchestra.core.store import open_store

    try:
        store = open_store()
        baseline = store.latest_finished(root, None, full_only=True)
        return store.finding_ids(baseline) if baseline else None
    except Exception:  # without a baseline every high finding in the file blocks; that is safe
        return None


def _blocking(report: SecurityReport, rel: str, known: set[str] | None) -> list[Finding]:
    """High and critical findings in the edited file that the last full scan did not have (all, without one)."""
    from devops_orchestra.models import Severity

    return [f for f in report.findings
            if f.location.path == rel and f.severity.rank >= Severity.high.rank and f.id not in (known or ())]


def _reason(rel: str, findings: list[Finding]) -> str:
    lines = [f"devops-orchestra: this edit leaves {len(findings)} high or critical security finding"
             f"{'s' if len(findings) > 1 else ''} in {rel}. Fix {'them' if len(findings) > 1 else 'it'} now:"]
    for f in findings:
        lines.append(f"- {f.location.path}:{f.location.start_line} [{f.severity.value}] {f.title} ({f.rule_id}). "
                     f"Fix: {f.remediation.summary}")
    return "\n".join(lines)

"""semgrep for the SQL agent, in one run: the security pack's SQL-injection rules, and our rules that point at
constant SQL passed to query calls in JavaScript/TypeScript, Go and Java (whose text the SQL rules then read)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devops_orchestra.core.paths import policies_dir
from devops_orchestra.core.workspace import SourceFile
from devops_orchestra.models import Finding
from devops_orchestra.scanners.base import ScanJob, run_json_batches
from devops_orchestra.scanners.semgrep import command, parse, warning

LITERAL_RULE = "sql-literal-"


@dataclass(frozen=True)
class SqlLiteral:
    """A constant SQL string passed to a query call: where it starts, and its text."""

    path: str  # relative to the job's base
    line: int  # where the string starts
    text: str  # without its quotes


@dataclass
class SqlScan:
    """What semgrep found for the SQL agent: injections, SQL literals, warnings (+ merges two)."""

    injections: list[Finding]
    literals: list[SqlLiteral]
    warnings: list[str]

    def __add__(self, other: SqlScan) -> SqlScan:
        return SqlScan(self.injections + other.injections, self.literals + other.literals,
                       self.warnings + other.warnings)


def rules() -> Path:
    """Our rules that point at literal SQL; run beside the security pack, whose injection rules we read too."""
    return policies_dir() / "sql" / "semgrep"


async def scan(job: ScanJob) -> SqlScan:
    """Raise ScannerUnavailable, ScannerFailed or ScannerTimeout like every adapter."""
    configs = (policies_dir() / "semgrep", rules())
    raws = await run_json_batches("semgrep", lambda exe, files: command(exe, files, *configs), job, ok_exits=(0, 1))
    return from_raw(raws, job.base)


def from_raw(raws: list[dict[str, Any]], base: Path, only: set[str] | None = None) -> SqlScan:
    """What semgrep's JSON outputs (both rule sets) say for the SQL agent; only: just these files."""
    results = [r for raw in raws for r in raw.get("results", [])
               if only is None or str(r.get("path", "")).removeprefix("./") in only]
    literal_hits = [r for r in results if is_literal(r)]
    others = {"results": [r for r in results if not is_literal(r)]}
    return SqlScan(
        injections=[f for f in parse(others, base) if f.category == "sql-injection"],
        literals=[lit for r in literal_hits if (lit := _literal(r, base)) is not None],
        warnings=[warning(e) for raw in raws for e in raw.get("errors", [])
                  if only is None or str(e.get("path", "")).removeprefix("./") in only],
    )


@dataclass
class Prescanned:
    """Rides along in the security scan's semgrep (a SemgrepRider): keeps its outputs, with both rule sets,
    and the files they cover, for the SQL agent; hands the security scan back its own results."""

    raws: list[dict[str, Any]] = field(default_factory=list)
    files: set[str] = field(default_factory=set)

    def configs(self) -> tuple[Path, ...]:
        """Our literal-SQL rules (the security pack's injection rules run anyway)."""
        return (rules(),)

    def take(self, raws: list[dict[str, Any]], files: list[SourceFile]) -> list[dict[str, Any]]:
        """Keep raws for the SQL agent; the security scan gets them without our literal-SQL results."""
        self.raws += raws
        self.files.update(f.rel for f in files)
        return [{**raw, "results": [r for r in raw.get("results", []) if not is_literal(r)]} for raw in raws]


def is_literal(hit: dict[str, Any]) -> bool:
    """Whether a semgrep result comes from our literal-SQL rules (a literal to read, not a finding)."""
    return _rule(hit).startswith(LITERAL_RULE)


def _rule(hit: dict[str, Any]) -> str:
    return str(hit.get("check_id", "")).rsplit(".", 1)[-1]


def _literal(hit: dict[str, Any], base: Path) -> SqlLiteral | None:
    """The matched string literal's text, read from the file at semgrep's byte offsets."""
    path = str(hit["path"]).removeprefix("./")
    try:
        start, end = int(hit["start"]["offset"]), int(hit["end"]["offset"])
        data = (base / path).read_bytes()[start:end + 1]  # a template literal's span stops before its closing `
    except (OSError, KeyError, ValueError):
        return None
    quote, body = data[:1], data[1:end - start]  # bytes: semgrep's offsets count bytes, not characters
    if quote and body.endswith(quote):
        body = body[:-1]
    elif not quote or data[end - start:] != quote:
        return None
    text = body.decode("utf-8", errors="replace")
    if quote not in (b'"', b"'", b"`") or "${" in text:
        return None  # not a plain literal (an interpolating template is the injection rules' business)
    return SqlLiteral(path, int(hit["start"]["line"]), text.replace('\\"', '"').replace("\\n", "\n"))

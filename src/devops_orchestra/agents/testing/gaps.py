"""test_gaps: the repository's own tests, run in an isolated copy with coverage, and the functions they leave
unrun ranked by risk: uncovered lines the change touches, complexity, security findings inside, callers."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devops_orchestra.agents.runs import Progress, new_run_id, recorded
from devops_orchestra.agents.testing.checks import code_checks
from devops_orchestra.agents.testing.covered import FileLines, node_lines, python_lines
from devops_orchestra.agents.testing.suite import DEFAULT_TIMEOUT_S, NoSuite, Suite, detect, isolated_copy, run_suite
from devops_orchestra.analyzers.functions import Span, lizard_functions, python_functions
from devops_orchestra.core import proc
from devops_orchestra.core.errors import PathError
from devops_orchestra.core.proc import ProcResult
from devops_orchestra.core.store import Store
from devops_orchestra.core.workspace import Inventory, build_inventory
from devops_orchestra.models import Finding
from devops_orchestra.models.testing import Gap, SuiteResult, TestGapsReport, TestGapsRequest
from devops_orchestra.pipeline.config import OrchestraConfig, load

NODE_LANGUAGES = ("javascript", "typescript")
YIELD_NICE = 10
_CALL = re.compile(r"([A-Za-z_$][\w$]*)\s*\(")
_DEFINITION = re.compile(r"(?:\bdef|\bfunction)\s+([A-Za-z_$][\w$]*)\s*\(")


@dataclass
class Measurement:
    """A suite's run and the lines it ran, per source file."""

    suite: Suite | None
    result: SuiteResult
    lines: dict[str, FileLines]


async def measure(target: Path, config: OrchestraConfig, inventory: Inventory,
                  timeout_s: float | None = None) -> Measurement:
    """Run target's tests in an isolated copy with coverage; the result and the lines each source file ran."""
    suite = await asyncio.to_thread(detect, target, config.testing)
    if isinstance(suite, NoSuite):
        return Measurement(None, SuiteResult(outcome="could not run", reason=suite.reason), {})
    async with isolated_copy(target) as (copy, work):
        return await measure_in(copy, work, target, suite, inventory, timeout_s or config.testing.timeout)


async def measure_in(copy: Path, work: Path, target: Path, suite: Suite, inventory: Inventory,
                     timeout_s: float | None) -> Measurement:
    """The suite run in copy (of target) with coverage recorded under work."""
    result, measured = await run_suite(suite, copy, work, timeout_s or DEFAULT_TIMEOUT_S)
    if measured.python_data:
        # type stubs (.pyi) never run: they are no gap
        rels = [f.rel for f in inventory.with_language("python") if not f.is_test and f.rel.endswith(".py")]
        lines = await asyncio.to_thread(python_lines, measured.python_data, [copy, target], rels)
    elif measured.node_data:
        rels = [f.rel for f in inventory.with_language(*NODE_LANGUAGES) if not f.is_test]
        lines = await asyncio.to_thread(node_lines, measured.node_data, copy, rels)
    else:
        lines = {}
    percent = coverage_percent(lines)
    if percent is None:  # nothing recorded (a suite that failed early, or ran in a container): no gaps to show
        return Measurement(suite, result, {})
    tool = "coverage.py" if suite.language == "python" else "V8 (NODE_V8_COVERAGE)"
    return Measurement(suite, result.model_copy(update={"coverage": percent, "coverage_tool": tool}), lines)


def coverage_percent(lines: dict[str, FileLines]) -> float | None:
    """Percent of the statements run; None when nothing ran at all (no coverage was recorded)."""
    if not any(f.executed for f in lines.values()):
        return None
    total = sum(len(f.statements) for f in lines.values())
    return round(100 * sum(len(f.executed) for f in lines.values()) / max(total, 1), 1)


async def test_gaps(target: Path, *, changed_since: str | None = None, config: OrchestraConfig | None = None,
                    timeout_s: float | None = None, security: bool = True, checks: bool = True, max_gaps: int = 50,
                    display_path: str = ".", run_id: str | None = None,
                    progress: Progress | None = None) -> TestGapsReport:
    """Run target's tests with coverage and rank what they leave unrun, with the code checks (deptry, ruff,
    ESLint) as findings. Runs the repository's code."""
    started = time.perf_counter()
    if not await asyncio.to_thread(target.is_dir):
        raise PathError(f"{display_path} is not a directory: give the repository's root.")
    if config is None:
        config = await asyncio.to_thread(load, target) or OrchestraConfig()
    inventory, changed = await asyncio.gather(asyncio.to_thread(build_inventory, target),
                                              asyncio.to_thread(changed_lines, target, changed_since))
    if progress:
        await progress(1, 3, "running the tests in an isolated copy")
    # bandit on the source files meanwhile: the suite mostly keeps one core busy
    sources = [f.rel for f in inventory.with_language("python") if not f.is_test]
    looking = asyncio.ensure_future(_security(target, sources)) if security and sources else None
    checking = asyncio.ensure_future(code_checks(target, inventory)) if checks else None
    try:
        measured = await measure(target, config, inventory, timeout_s)
    except BaseException:
        for task in (looking, checking):
            if task:
                task.cancel()
        raise
    if progress:
        await progress(2, 3, f"tests {measured.result.outcome}; ranking what they leave unrun")
    texts = await asyncio.to_thread(_texts, target, inventory)
    gaps = await asyncio.to_thread(find_gaps, measured.lines, texts, changed)
    notes = []
    if looking:
        security_findings, note = await looking
        gaps = [_with_findings(g, security_findings) for g in gaps]
        notes += [note] if note else []
    findings, runs = await checking if checking else ([], [])
    gaps.sort(key=lambda g: (-g.risk, g.path, g.start_line))
    if measured.suite and not measured.lines and measured.result.outcome != "could not run":
        why = ("none of its code ran where coverage could see it (in a container, or not at all)"
               if measured.suite.language in ("python", "node") else f"it is not measured for "
               f"{measured.suite.language} yet")
        notes.append(f"no coverage: {why}; the result is the tests' outcome alone")
    return TestGapsReport(
        run_id=run_id or new_run_id(), root=str(target), path=display_path,
        duration_s=round(time.perf_counter() - started, 2), findings=findings, checks=runs, tests=measured.result,
        gaps=gaps[:max_gaps], gaps_total=len(gaps), changed_since=changed_since,
        changed_coverage=changed_coverage(measured.lines, changed), notes=notes)


async def recorded_test_gaps(store: Store, request: TestGapsRequest, *, progress: Progress | None = None,
                             config: OrchestraConfig | None = None) -> TestGapsReport:
    """test_gaps kept in the run store."""
    return await recorded(store, TestGapsReport.agent, request, lambda run_id: test_gaps(
        request.target, changed_since=request.changed_since, timeout_s=request.timeout_s,
        max_gaps=request.max_gaps, display_path=request.display_path, run_id=run_id, progress=progress,
        config=config, security=request.security, checks=request.checks))


def _texts(target: Path, inventory: Inventory) -> dict[str, str]:
    return {f.rel: (target / f.rel).read_text(encoding="utf-8", errors="replace")
            for f in inventory.files if f.language in ("python", *NODE_LANGUAGES)}


def find_gaps(lines: dict[str, FileLines], texts: dict[str, str], changed: dict[str, set[int]]) -> list[Gap]:
    """Each function with statements the tests never ran (its own: not those of functions nested in it)."""
    calls: Counter[str] = Counter()
    for text in texts.values():  # a name followed by "(" that is not its definition: near enough, and quick
        calls.update(_CALL.findall(text))
        calls.subtract(_DEFINITION.findall(text))
    gaps = []
    for rel, covered in lines.items():
        source = texts.get(rel)
        if source is None or covered.statements <= covered.executed:
            continue
        spans = python_functions(source) if rel.endswith(".py") else lizard_functions(rel, source)
        owner = _owners(spans, covered.statements, python=rel.endswith(".py"))
        for span in spans:
            own = {line for line, s in owner.items() if s is span}
            missing = sorted(own - covered.executed)
            if not missing:
                continue
            touched = len(set(missing) & changed.get(rel, set()))
            callers = max(0, calls[span.name.rsplit(".", 1)[-1]])
            gaps.append(Gap(path=rel, function=span.name, start_line=span.start, end_line=span.end,
                            missing_lines=missing, covered_percent=round(100 * (1 - len(missing) / len(own)), 1),
                            complexity=span.complexity, changed_lines=touched, callers=callers,
                            risk=_risk(touched, span.complexity, 0, callers, len(missing))))
    return gaps


def _owners(spans: list[Span], statements: frozenset[int], python: bool) -> dict[int, Span]:
    """Each statement inside a function's body, mapped to the innermost function holding it."""
    owner: dict[int, Span] = {}
    for span in sorted(spans, key=lambda s: s.end - s.start, reverse=True):  # inner ones overwrite
        first = span.body_start if python else span.start + 1
        for line in statements:
            if first <= line <= span.end:
                owner[line] = span
    return owner


def _risk(changed: int, complexity: int, findings: int, callers: int, missing: int) -> float:
    """Uncovered lines the change touches weigh most, then security findings, complexity, callers, size."""
    return round((50 + 5 * changed if changed else 0) + 20 * findings + 3 * (complexity - 1) + 2 * min(callers, 10)
                 + 0.2 * missing, 1)


def _with_findings(gap: Gap, findings: list[Finding]) -> Gap:
    """The gap with the medium-or-worse findings inside it (each rule once), weighed into its risk."""
    inside = sorted({f.rule_id for f in findings if f.location.path == gap.path and f.severity.rank >= 2
                     and gap.start_line <= f.location.start_line <= gap.end_line})
    if not inside:
        return gap
    return gap.model_copy(update={"findings": inside, "risk": _risk(
        gap.changed_lines, gap.complexity, len(inside), gap.callers, len(gap.missing_lines))})


async def yielding(argv: Sequence[str], *, cwd: Path, timeout_s: float, env: Mapping[str, str] | None = None,
                   nice: int = 0) -> ProcResult:
    """A scanner's process that runs beside the tests at a lower priority: the suite gets the CPU first."""
    return await proc.run(argv, cwd=cwd, timeout_s=timeout_s, env=env, nice=max(nice, YIELD_NICE))


async def _security(target: Path, files: list[str]) -> tuple[list[Finding], str | None]:
    """bandit on the files with gaps (the security agent's, with its cache): findings, or a note why none."""
    from devops_orchestra.agents.security import security_scan
    from devops_orchestra.core.cache import ScanCache

    report = await security_scan(target, scanners=["bandit"], files=files, cache=ScanCache(),
                                 runners={"bandit": yielding})
    failed = [r for r in report.scanners if r.status not in ("ok", "skipped")]
    note = f"security findings not looked for: bandit {failed[0].status} ({failed[0].error})" if failed else None
    return report.findings, note


def changed_coverage(lines: dict[str, FileLines], changed: dict[str, set[int]]) -> float | None:
    """Percent of the changed statements the tests ran; None when the change has no measured statements."""
    statements = ran = 0
    for rel, touched in changed.items():
        covered = lines.get(rel)
        if covered:
            statements += len(touched & covered.statements)
            ran += len(touched & covered.executed)
    return round(100 * ran / statements, 1) if statements else None


_HUNK = re.compile(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", re.M)


def changed_lines(target: Path, since: str | None) -> dict[str, set[int]]:
    """The lines changed since a git ref, per file relative to target (an untracked file: all of it). Blocking."""
    if since is None:
        return {}
    if not since or since.startswith("-"):
        raise PathError(f"{since!r} is not a git ref: give a branch, tag or commit such as 'main' or 'HEAD~3'.")

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=target, capture_output=True, timeout=60)
        if done.returncode != 0:
            raise PathError(f"git cannot compare {target} with {since!r}: "
                            f"{done.stderr.decode('utf-8', 'replace').strip()[:300]}. Give a ref that exists there.")
        return done.stdout.decode("utf-8", "surrogateescape")

    out: dict[str, set[int]] = {}
    current = None
    for line in git("diff", "-U0", "--no-renames", "--no-color", "--relative", f"{since}^{{commit}}", "--"
                    ).splitlines():
        if line.startswith("+++ "):
            current = line[6:] if line.startswith("+++ b/") else None
        elif current and (m := _HUNK.match(line)):
            start, count = int(m[1]), int(m[2] if m[2] is not None else 1)
            out.setdefault(current, set()).update(range(start, start + count))
    for rel in filter(None, git("ls-files", "--others", "--exclude-standard", "-z").split("\0")):
        try:
            out[rel] = set(range(1, len((target / rel).read_bytes().splitlines()) + 1))
        except OSError:
            continue
    return out

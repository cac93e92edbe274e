"""generate_tests: candidate tests for the Python functions the repository's tests leave unrun, kept only when
they pass and run lines no test ran before (the loop of CoverUp, FSE 2025), each run alone under coverage in the
isolated copy. Offline the candidates come from Hypothesis' ghostwriter; with `llm` and ANTHROPIC_API_KEY from
Claude too; and the returned context lets the IDE's own model write more.

Everything runs with the repository's own Python in the copy: the ghostwriter imports the module it writes for,
and the candidates run its code. hypothesis is lent to that Python (as coverage.py is), and so is a stand-in for
black, which the ghostwriter imports only to format what it writes: ruff formats it instead.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from devops_orchestra.agents.testing.covered import FileLines, python_lines
from devops_orchestra.agents.testing.gaps import NODE_LANGUAGES, coverage_percent, find_gaps, measure_in
from devops_orchestra.agents.testing.suite import (
    Measured,
    NoSuite,
    Suite,
    coverage_env,
    detect,
    isolated_copy,
    suite_environment,
)
from devops_orchestra.core import llm, proc, toolchain
from devops_orchestra.core.environments import lend
from devops_orchestra.core.errors import OrchestraError, PathError, ScannerFailed, ScannerTimeout, ScannerUnavailable
from devops_orchestra.core.workspace import build_inventory, is_test_path
from devops_orchestra.models.testing import Gap, GeneratedTest, GeneratedTests
from devops_orchestra.pipeline.config import OrchestraConfig, load

MAX_TARGETS = 5
CANDIDATE_TIMEOUT_S = 30.0
# Called with made-up arguments, these would start servers, processes or writes: no ghostwritten test for them.
SIDE_EFFECTS = re.compile(r"^(main|run|serve|start|listen|stop|kill|delete|remove|drop|write|save|send|post|upload|"
                          r"deploy|install|exec|spawn|connect|open)(_|$)", re.I)
SIDE_EFFECT_CALLS = re.compile(r"serve_forever|subprocess|os\.system|os\.remove|shutil\.rmtree|\.listen\(|socket\(|"
                               r"requests\.|urlopen|\.unlink\(|open\([^)]*['\"][wa]")
# Exceptions a function may raise on inputs it was never meant for: a ghostwritten test tolerates them.
TOLERATED = "(TypeError, ValueError, AttributeError, KeyError, IndexError)"
# For a parameter without a type the ghostwriter writes st.nothing() (no input at all), or st.none() when its
# default is None (which says nothing of its type): plain values instead.
# Small ones: a huge integer fed to range() would only time out.
ANY_VALUE = ("st.one_of(st.none(), st.booleans(), st.integers(-100, 100), st.floats(-1e3, 1e3), st.text(max_size=20), "
             "st.lists(st.integers(-100, 100), max_size=5))")
WRITE_ONE = """\
import importlib, sys
from hypothesis.extra import ghostwriter
module = importlib.import_module(sys.argv[1])
print(ghostwriter.magic(getattr(module, sys.argv[2]), except_={tolerated}, style="unittest"))
"""
BLACK_STANDIN = "class Mode:\n    pass\n\n\ndef format_str(src, mode=None):\n    return src\n"


@dataclass
class Candidate:
    target: Gap
    code: str
    source: Literal["ghostwriter", "anthropic"]


async def generate_tests(target: Path, *, function: str | None = None, write: bool = False, use_llm: bool = False,
                         config: OrchestraConfig | None = None, timeout_s: float | None = None) -> GeneratedTests:
    """Candidate tests for target's untested Python functions (function: 'path' or 'path:name' to narrow), the
    ones that pass and add coverage kept; written into target only when write is set. Runs the repository's code."""
    started = time.perf_counter()
    if not await asyncio.to_thread(target.is_dir):
        raise PathError(f"{target} is not a directory: give the repository's root.")
    config = config or await asyncio.to_thread(load, target) or OrchestraConfig()
    suite = await asyncio.to_thread(detect, target, config.testing)
    if isinstance(suite, NoSuite) or suite.language not in ("python", "node"):
        why = suite.reason if isinstance(suite, NoSuite) else f"the tests are {suite.framework}"
        raise OrchestraError(f"generate_tests measures candidates against the repository's own Python (or, for "
                             f"the context alone, Node) tests: {why}. test_gaps runs the others.")
    inventory = await asyncio.to_thread(build_inventory, target)
    languages = ("python",) if suite.language == "python" else NODE_LANGUAGES
    texts = {f.rel: (target / f.rel).read_text(encoding="utf-8", errors="replace")
             for f in inventory.with_language(*languages)}
    async with isolated_copy(target) as (copy, work):
        (work / "baseline").mkdir()
        base = await measure_in(copy, work / "baseline", target, suite, inventory, timeout_s or config.testing.timeout)
        gaps = [g for g in find_gaps(base.lines, texts, {}) if _wanted(g, function)]
        if suite.language == "node":  # no candidates: the gaps' context, for the IDE's model to write them
            gaps.sort(key=lambda g: -g.risk)
            return GeneratedTests(root=str(target), tests=[], coverage_before=base.result.coverage,
                                  coverage_after=base.result.coverage, context=_context(gaps[:MAX_TARGETS], texts),
                                  dropped=["Node: no candidates are generated; the context is for your model"],
                                  duration_s=round(time.perf_counter() - started, 2))
        gaps.sort(key=lambda g: -g.risk)
        # top-level functions only, and none that would act on the world when called with made-up arguments
        risky = [g for g in gaps if SIDE_EFFECTS.match(g.function) or SIDE_EFFECT_CALLS.search(_source(g, texts))]
        targets = [g for g in gaps if "." not in g.function and g not in risky][:MAX_TARGETS]
        context = _context(targets or gaps[:MAX_TARGETS], texts)
        if function and not gaps:
            raise OrchestraError(f"no untested Python function matches {function!r}: give 'path/to/module.py' or "
                                 "'path/to/module.py:function' among the gaps test_gaps lists.")
        site = await asyncio.to_thread(_lend_all, work / "tools")
        candidates = [c for g in targets for c in await _ghostwrite(copy, suite, g, site)]
        dropped = [f"{g.path}:{g.function}: the ghostwriter wrote nothing" for g in targets
                   if not any(c.target is g for c in candidates)]
        dropped += [f"{g.path}:{g.function}: not called with made-up arguments (it may start, write or send "
                    "something); the context has it for a hand-written test" for g in risky if "." not in g.function]
        dropped += [f"{g.path}:{g.function}: a method or nested function (the ghostwriter writes for top-level "
                    "functions); the context has it" for g in gaps[:MAX_TARGETS] if "." in g.function]
        if use_llm and targets:
            drafted, note = await _drafts(targets, context)
            candidates += drafted
            dropped += [note] if note else []
        covered = {rel: set(f.executed) for rel, f in base.lines.items()}
        kept: list[GeneratedTest] = []
        for n, candidate in enumerate(candidates):
            test, why = await _try(copy, work / f"candidate-{n}", suite, candidate, site, covered, target, texts)
            if test:
                kept.append(test)
            else:
                dropped.append(f"{candidate.target.path}:{candidate.target.function} ({candidate.source}): {why}")
    after = {rel: FileLines(f.statements, frozenset(covered.get(rel, set()))) for rel, f in base.lines.items()}
    if write:
        kept = await asyncio.to_thread(_write, target, kept)
    return GeneratedTests(root=str(target), tests=kept, dropped=dropped, coverage_before=base.result.coverage,
                          coverage_after=coverage_percent(after), context=context,
                          duration_s=round(time.perf_counter() - started, 2))


def _wanted(gap: Gap, function: str | None) -> bool:
    if not function:
        return True
    path, _, name = function.partition(":")
    return gap.path == path.removeprefix("./") and (not name or gap.function == name)


def _lend_all(site: Path) -> Path:
    lend(site, ["hypothesis", "_hypothesis_globals", "sortedcontainers"])
    (site / "black.py").write_text(BLACK_STANDIN, encoding="utf-8")
    return site


def module_name(rel: str, root: Path) -> str:
    """The dotted module of a file: from the top of its packages (a src/ layout's src/ is no package)."""
    parts = list(PurePosixPath(rel).with_suffix("").parts)
    while len(parts) > 1 and not (root / parts[0] / "__init__.py").is_file() and (root / parts[0]).is_dir() \
            and parts[0] in ("src", "lib"):
        root, parts = root / parts[0], parts[1:]
    return ".".join(parts)


def _pythonpath(copy: Path, site: Path) -> str:
    return ":".join(str(p) for p in (site, copy, copy / "src") if p.is_dir())


async def _ghostwrite(copy: Path, suite: Suite, gap: Gap, site: Path) -> list[Candidate]:
    script = site.parent / "write_one.py"
    script.write_text(WRITE_ONE.format(tolerated=TOLERATED), encoding="utf-8")
    argv = [suite.argv[0], str(script), module_name(gap.path, copy), gap.function]
    try:
        done = await proc.run(argv, cwd=copy, timeout_s=CANDIDATE_TIMEOUT_S, inherit_env=False,
                              env=suite_environment({"PYTHONPATH": _pythonpath(copy, site)}))
    except (ScannerUnavailable, ScannerFailed, ScannerTimeout):
        return []
    code = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0 or "def test_" not in code:
        return []
    code = re.sub(r"^# TODO: replace st.nothing\(\).*\n", "", code, flags=re.M)  # done here
    code = code.replace("st.none()", ANY_VALUE).replace("st.nothing()", ANY_VALUE)
    # Made-up arguments are often rejected, and a first call can be slow: neither is the function's fault.
    code = re.sub(r"^(\s*)@given\(", r"\1@settings(suppress_health_check=[HealthCheck.filter_too_much, "
                  r"HealthCheck.too_slow], deadline=None, max_examples=30)\n\1@given(", code, flags=re.M)
    code = code.replace("from hypothesis import ", "from hypothesis import HealthCheck, settings, ", 1)
    return [Candidate(gap, await _formatted(code), "ghostwriter")]


async def _formatted(code: str) -> str:
    """code as ruff formats it (black's style); as it is when ruff is missing."""
    exe = toolchain.executable("ruff")
    if exe is None:
        return code
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "candidate.py"
        path.write_text(code, encoding="utf-8")
        try:
            done = await proc.run([str(exe), "format", "--isolated", "--quiet", str(path)], cwd=Path(tmp),
                                  timeout_s=30)
        except (ScannerUnavailable, ScannerFailed, ScannerTimeout):
            return code
        return path.read_text(encoding="utf-8") if done.returncode == 0 else code


async def _try(copy: Path, work: Path, suite: Suite, candidate: Candidate, site: Path, covered: dict[str, set[int]],
               target: Path, texts: dict[str, str]) -> tuple[GeneratedTest | None, str]:
    """Run one candidate alone under coverage: kept when it passes and runs lines no test ran; else why not."""
    path, env, measured = await asyncio.to_thread(_prepare, copy, work, suite, candidate, site)
    try:
        done = await proc.run([suite.argv[0], "-m", "unittest", "-q", str(path.relative_to(copy))], cwd=copy,
                              timeout_s=CANDIDATE_TIMEOUT_S, env=suite_environment(env), inherit_env=False)
    except ScannerTimeout:
        return None, f"ran longer than {CANDIDATE_TIMEOUT_S:g} s"
    finally:
        path.unlink()
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).decode("utf-8", "replace").strip().splitlines()
        raised = [line for line in tail if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Failed|HealthCheck|"
                                                    r"Unsatisfiable)\b", line)]
        return None, "fails: " + (raised[-1] if raised else tail[-1] if tail else "no output")[:300]
    assert measured.python_data is not None
    ran = await asyncio.to_thread(python_lines, measured.python_data, [copy, target],
                                  [rel for rel in texts if rel in covered])
    new = {rel: set(f.executed) - covered.get(rel, set()) for rel, f in ran.items()}
    added = sum(len(lines) for lines in new.values())
    if not added:
        return None, "passes but runs no line the tests did not already run"
    for rel, lines in new.items():
        covered.setdefault(rel, set()).update(lines)
    return GeneratedTest(file=path.relative_to(copy).as_posix(), target=f"{candidate.target.path}:"
                         f"{candidate.target.function}", code=candidate.code, source=candidate.source,
                         lines_added=added), ""


def _prepare(copy: Path, work: Path, suite: Suite, candidate: Candidate, site: Path
             ) -> tuple[Path, dict[str, str], Measured]:
    """The candidate written into the copy (tests/ when there is one), and the environment that measures it."""
    work.mkdir()
    name = f"test_generated_{PurePosixPath(candidate.target.path).stem}_{candidate.target.function}.py"
    path = (copy / "tests" if (copy / "tests").is_dir() else copy) / name
    path.write_text(candidate.code, encoding="utf-8")
    env, measured = coverage_env(work, suite)
    for extra in sorted(site.iterdir()):  # hypothesis and the black stand-in beside coverage
        (work / "site" / extra.name).symlink_to(extra)
    env["PYTHONPATH"] = _pythonpath(copy, work / "site")
    return path, env, measured


def _write(target: Path, tests: list[GeneratedTest]) -> list[GeneratedTest]:
    """Each kept test written into target under a name no file has; never over an existing file."""
    out = []
    for test in tests:
        path = target / test.file
        n = 2
        while path.exists():
            path = path.with_name(f"{Path(test.file).stem}_{n}.py")
            n += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(test.code, encoding="utf-8")
        out.append(test.model_copy(update={"file": path.relative_to(target).as_posix(), "written": True}))
    return out


def _source(gap: Gap, texts: dict[str, str]) -> str:
    return "\n".join(texts.get(gap.path, "").splitlines()[gap.start_line - 1 : gap.end_line])


def _context(gaps: list[Gap], texts: dict[str, str]) -> str:
    """What a model needs to write a test: each function's code and unrun lines, its callers, an existing test."""
    parts = []
    for gap in gaps:
        source = _source(gap, texts)
        name = gap.function.rsplit(".", 1)[-1]
        callers = [f"{rel}:{i}: {line.strip()}" for rel, text in texts.items() for i, line in
                   enumerate(text.splitlines(), 1) if re.search(rf"\b{re.escape(name)}\s*\(", line)
                   and not line.lstrip().startswith(("def ", "async def "))][:5]
        fence = "python" if gap.path.endswith(".py") else "javascript"
        parts.append(f"### {gap.path}:{gap.start_line}-{gap.end_line} {gap.function} (never run: lines "
                     f"{', '.join(map(str, gap.missing_lines[:20]))})\n```{fence}\n{source}\n```\n"
                     + ("Called from:\n" + "\n".join(f"- {c}" for c in callers) + "\n" if callers else ""))
    tests = [rel for rel in texts if is_test_path(rel) and not rel.endswith("conftest.py")]
    if tests:
        head = "\n".join(texts[tests[0]].splitlines()[:40])
        fence = "python" if tests[0].endswith(".py") else "javascript"
        parts.append(f"### An existing test to follow ({tests[0]})\n```{fence}\n{head}\n```\n")
    return "\n".join(parts)


_PYTHON_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S)


async def _drafts(gaps: list[Gap], context: str) -> tuple[list[Candidate], str | None]:
    """One test module per function from Claude, or a note why none."""
    out: list[Candidate] = []
    for gap in gaps:
        prompt = (f"Write a Python unittest module (import what it needs; no pytest) that runs the lines never run "
                  f"of {gap.path}:{gap.function}. Call it as its callers do; assert what the code says it returns. "
                  f"Answer with one ```python block only.\n\n{context}")
        try:
            answer = await llm.complete(prompt, max_tokens=2_000)
        except llm.LlmUnavailable as exc:
            return out, f"no drafts from Claude: {exc}"
        m = _PYTHON_FENCE.search(answer)
        if m and "def test" in m.group(1):
            out.append(Candidate(gap, m.group(1).strip() + "\n", "anthropic"))
    return out, None


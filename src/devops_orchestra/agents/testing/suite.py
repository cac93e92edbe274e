"""The repository's own test command: which one (devops_orchestra.yaml's testing.command, or detected), run in
an isolated copy of the tree with a timeout and coverage, and its output read into a SuiteResult.

The copy is a plain copy of the files (without .git and caches); the heavy environment directories (.venv,
venv, node_modules) are linked, not copied, so that the tests find what is installed. A suite that outlives
its timeout is killed with its whole process group (core/proc.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from devops_orchestra.core import proc
from devops_orchestra.core.environments import lend, repository_python
from devops_orchestra.core.errors import ScannerFailed, ScannerTimeout, ScannerUnavailable
from devops_orchestra.core.secret_shapes import SECRET_NAME_WORD
from devops_orchestra.models.testing import SuiteResult
from devops_orchestra.pipeline.config import Testing

Language = Literal["python", "node", "go", "java"]
DEFAULT_TIMEOUT_S = 600.0
LINKED = frozenset({".venv", "venv", "node_modules"})  # environments: linked into the copy, never copied
SKIPPED = frozenset({".git", ".hg", ".tox", ".nox", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                     ".coverage", "htmlcov", ".DS_Store"})
TAIL = 2_000  # characters of output kept in the result


@dataclass(frozen=True)
class Suite:
    """A test command and what it needs."""

    language: Language
    framework: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def shown(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True)
class NoSuite:
    """Why there is nothing to run."""

    reason: str


# -- which command ---------------------------------------------------------------------------------------------

def detect(root: Path, testing: Testing) -> Suite | NoSuite:
    """The test command for root: testing.command when set, else what the repository's files say."""
    if not testing.enabled:
        return NoSuite("testing.enabled is false in devops_orchestra.yaml")
    if testing.command:
        argv = shlex.split(testing.command)
        return Suite(_language_of(root, argv), testing.framework or Path(argv[0]).name, argv)
    if (root / "package.json").is_file():
        return _node(root)
    if (root / "go.mod").is_file():
        return Suite("go", "go test", ["go", "test", "./..."])
    if (root / "pom.xml").is_file():
        return Suite("java", "maven", ["mvn", "-B", "-q", "test"])
    if (root / "gradlew").is_file() or (root / "build.gradle").is_file() or (root / "build.gradle.kts").is_file():
        return Suite("java", "gradle", ["./gradlew" if (root / "gradlew").is_file() else "gradle", "test"])
    return _python(root)


def _language_of(root: Path, argv: list[str]) -> Language:
    word = Path(argv[0]).name
    if word in ("npm", "npx", "node", "yarn", "pnpm", "jest", "vitest", "mocha"):
        return "node"
    if word == "go":
        return "go"
    if word in ("mvn", "gradle", "gradlew", "./gradlew"):
        return "java"
    return "python"


_PYTEST_HINTS = ("[tool.pytest", "[pytest]", "[tool:pytest]")


def _python(root: Path) -> Suite | NoSuite:
    tests = [p for p in _python_files(root) if re.match(r"test_.*\.py$|.*_test\.py$", p.name)]
    if not tests:
        return NoSuite("no Python tests found (no test_*.py or *_test.py files); add tests, or set testing.command "
                       "in devops_orchestra.yaml")
    python = repository_python(root)
    configs = [root / n for n in ("pyproject.toml", "pytest.ini", "setup.cfg", "tox.ini")]
    uses_pytest = (root / "conftest.py").is_file() or any(
        f.is_file() and any(h in f.read_text(errors="replace") for h in _PYTEST_HINTS) for f in configs) or any(
        re.search(r"^\s*(import pytest|from pytest )", t.read_text(errors="replace"), re.M) for t in tests[:50])
    if uses_pytest:
        return Suite("python", "pytest", [python, "-m", "pytest", "-p", "no:cacheprovider"])
    start = "tests" if (root / "tests").is_dir() and not (root / "tests" / "__init__.py").is_file() else "."
    return Suite("python", "unittest", [python, "-m", "unittest", "discover", "-s", start, "-p", "test*.py"])


def _python_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIPPED | LINKED and not d.startswith(".")]
        yield from (Path(dirpath) / n for n in filenames if n.endswith(".py"))


def _node(root: Path) -> Suite | NoSuite:
    import json

    try:
        scripts = json.loads((root / "package.json").read_text(encoding="utf-8")).get("scripts") or {}
    except (ValueError, AttributeError):
        return NoSuite("package.json is not valid JSON: fix it so that its test script can be found")
    test = scripts.get("test") if isinstance(scripts, dict) else None
    if not isinstance(test, str) or "no test specified" in test:
        return NoSuite("package.json has no test script: add one (\"test\": \"node --test\", jest, vitest or mocha)")
    framework = next((n for n in ("jest", "vitest", "mocha", "node --test") if n in test), "npm test")
    return Suite("node", framework, ["npm", "test", "--silent"])


# -- an isolated copy ------------------------------------------------------------------------------------------

@asynccontextmanager
async def isolated_copy(root: Path) -> AsyncIterator[tuple[Path, Path]]:
    """A temporary copy of root's files (environments linked, .git and caches left out) and a work directory
    beside it, both removed afterwards."""
    base = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="devops-orchestra-tests-"))
    try:
        copy, work = base / "repo", base / "work"
        work.mkdir()
        await asyncio.to_thread(_copy, root, copy)
        yield copy, work
    finally:
        await asyncio.to_thread(shutil.rmtree, base, True)


def _copy(root: Path, copy: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIPPED or n in LINKED or n.endswith(".pyc")}

    shutil.copytree(root, copy, ignore=ignore, symlinks=True)
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIPPED]
        for name in [d for d in dirnames if d in LINKED]:
            source = Path(dirpath) / name
            (copy / source.relative_to(root)).symlink_to(source.resolve(), target_is_directory=True)
            dirnames.remove(name)


# -- running it ------------------------------------------------------------------------------------------------

@dataclass
class Measured:
    """What a run under coverage leaves: the data directory (Python) or the V8 coverage directory (Node)."""

    python_data: Path | None = None
    node_data: Path | None = None


def coverage_env(work: Path, suite: Suite) -> tuple[dict[str, str], Measured]:
    """Environment that makes every Python (or Node) process of the suite record coverage into work."""
    if suite.language == "node":
        (work / "v8").mkdir()
        return {"NODE_V8_COVERAGE": str(work / "v8")}, Measured(node_data=work / "v8")
    if suite.language != "python":
        return {}, Measured()
    site = work / "site"
    lend(site, ["coverage"])  # our coverage.py, to the suite's own interpreter
    (site / "sitecustomize.py").write_text("import coverage\ncoverage.process_startup()\n", encoding="utf-8")
    data = work / "data"
    data.mkdir()
    rc = work / "coveragerc"
    rc.write_text(f"[run]\ndata_file = {data}/.coverage\nparallel = true\nbranch = false\n", encoding="utf-8")
    return {"PYTHONPATH": str(site), "COVERAGE_PROCESS_START": str(rc)}, Measured(python_data=data)


async def run_suite(suite: Suite, copy: Path, work: Path, timeout_s: float) -> tuple[SuiteResult, Measured]:
    """Run the suite in copy with coverage recorded under work; the result, never an exception."""
    env, measured = coverage_env(work, suite)
    try:
        done = await proc.run(suite.argv, cwd=copy, timeout_s=timeout_s, env=suite_environment({**env, **suite.env}),
                              inherit_env=False)
    except ScannerTimeout:
        return SuiteResult(outcome="failed", command=suite.shown, framework=suite.framework, duration_s=timeout_s,
                           reason=f"the tests ran longer than {timeout_s:g} s and were stopped (with every process "
                                  "they started); a test hangs, or raise testing.timeout in devops_orchestra.yaml"
                           ), Measured()
    except (ScannerUnavailable, ScannerFailed) as exc:
        return SuiteResult(outcome="could not run", command=suite.shown, framework=suite.framework,
                           reason=f"{exc}: install it, or set testing.command in devops_orchestra.yaml"), Measured()
    output = (done.stdout + b"\n" + done.stderr).decode("utf-8", "replace")
    result = read_output(suite, done.returncode, output)
    return result.model_copy(update={"duration_s": round(done.duration_s, 2)}), measured


# Never handed to the repository's code: credentials by name, and our own settings (the store, the bus...).
_WITHHELD = re.compile(rf"{SECRET_NAME_WORD}|auth|session|cookie|signing|webhook|dsn|^AWS_|^GITHUB_|^GH_|^SLACK_|"
                       r"^ANTHROPIC_|^DEVOPS_ORCHESTRA_|^PYTEST_|^COVERAGE_|^PYTHONPATH$|^VIRTUAL_ENV$", re.I)


def suite_environment(extra: dict[str, str]) -> dict[str, str]:
    """The environment the tests run in: this process's without credentials or our settings (a worker's tokens
    never reach a pull request's code), plus extra, with CI=true as in a pipeline."""
    kept = {k: v for k, v in os.environ.items() if not _WITHHELD.search(k)}
    return {**kept, **extra, "CI": "true"}


def read_output(suite: Suite, returncode: int, output: str) -> SuiteResult:
    """Counts, failing tests and the outcome from what the command printed and its exit code."""
    parse = _PARSERS.get(suite.framework.split()[0], _generic)
    passed, failed, skipped, failing = parse(output)
    tail = output.strip()[-TAIL:]
    base = SuiteResult(outcome="passed", command=suite.shown, framework=suite.framework, passed=passed,
                       failed=failed, skipped=skipped, failing=failing[:50], output_tail=tail or None)
    missing = re.search(r"No module named (\w+)", output)
    if returncode != 0 and missing and missing[1] in ("pytest", suite.framework) and not passed + failed:
        return base.model_copy(update={"outcome": "could not run", "reason": (
            f"{missing[1]} is not installed for {suite.argv[0]}: install the project's test dependencies in its "
            ".venv, or set testing.command in devops_orchestra.yaml")})
    if returncode == 0:
        return base
    if (suite.framework == "pytest" and returncode == 5) or re.search(r"NO TESTS RAN|Ran 0 tests", output):
        return base.model_copy(update={"outcome": "could not run", "reason": "the command collected no tests"})
    if not failing and not failed:
        return base.model_copy(update={"outcome": "failed", "reason": (
            f"{suite.shown} exited {returncode} without naming a failing test; the end of its output says why")})
    return base.model_copy(update={"outcome": "failed", "failed": max(failed, len(failing)),
                                   "reason": f"{max(failed, len(failing))} failing: {', '.join(failing[:5])}"})


Counts = tuple[int, int, int, list[str]]


def _count(pattern: str, text: str) -> int:
    return sum(int(m) for m in re.findall(pattern, text))


def _pytest(output: str) -> Counts:
    summary = next((line for line in reversed(output.splitlines()) if re.search(r"\d+ (passed|failed|error)", line)),
                   "")
    failing = re.findall(r"^(?:FAILED|ERROR) (\S+)", output, re.M)
    return (_count(r"(\d+) passed", summary), _count(r"(\d+) failed", summary) + _count(r"(\d+) errors?", summary),
            _count(r"(\d+) skipped", summary), list(dict.fromkeys(failing)))


def _unittest(output: str) -> Counts:
    ran = _count(r"(?m)^Ran (\d+) tests?", output)
    failing = re.findall(r"^(?:FAIL|ERROR): (\S+) \(([\w.]+)\)", output, re.M)
    names = list(dict.fromkeys(f"{where}.{name}" if not where.endswith(name) else where for name, where in failing))
    failed = _count(r"failures=(\d+)", output) + _count(r"errors=(\d+)", output)
    skipped = _count(r"skipped=(\d+)", output)
    return max(0, ran - failed - skipped), failed, skipped, names


def _node_output(output: str) -> Counts:
    if m := re.search(r"Tests:\s+(.*)", output):  # jest
        line = m[1]
        names = re.findall(r"^\s*● (.+?)\s*$", output, re.M)
        return _count(r"(\d+) passed", line), _count(r"(\d+) failed", line), _count(r"(\d+) skipped", line), names
    if m := re.search(r"Tests\s+(.*\(\d+\))", output):  # vitest
        names = re.findall(r"^\s*(?:FAIL|×)\s+(.+?)\s*$", output, re.M)
        return _count(r"(\d+) passed", m[1]), _count(r"(\d+) failed", m[1]), _count(r"(\d+) skipped", m[1]), names
    if "# pass" in output or "ℹ pass" in output:  # node --test (TAP or its spec reporter)
        names = re.findall(r"^\s*not ok \d+ - (.+?)\s*$", output, re.M) or re.findall(r"^\s*✖ (.+?) \(", output, re.M)
        return (_count(r"[#ℹ] pass (\d+)", output), _count(r"[#ℹ] fail (\d+)", output),
                _count(r"[#ℹ] skipped (\d+)", output), list(dict.fromkeys(names)))
    names = re.findall(r"^\s*\d+\) (.+?):?\s*$", output, re.M)  # mocha
    return _count(r"(\d+) passing", output), _count(r"(\d+) failing", output), _count(r"(\d+) pending", output), names


def _go(output: str) -> Counts:
    failing = re.findall(r"^\s*--- FAIL: (\S+)", output, re.M)
    return len(re.findall(r"^\s*--- PASS:", output, re.M)), len(failing), 0, failing


def _maven(output: str) -> Counts:
    runs = re.findall(r"Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)", output)
    total, failures, errors, skipped = (int(runs[-1][i]) for i in range(4)) if runs else (0, 0, 0, 0)
    names = re.findall(r"^\[ERROR\]\s+(\w[\w.]*[.#]\w+)[:(]", output, re.M)
    return total - failures - errors - skipped, failures + errors, skipped, names


def _generic(output: str) -> Counts:
    return _pytest(output) if re.search(r"\d+ (passed|failed)", output) else _unittest(output)


_PARSERS = {"pytest": _pytest, "unittest": _unittest, "jest": _node_output, "vitest": _node_output,
            "mocha": _node_output, "node": _node_output, "npm": _node_output, "go": _go, "maven": _maven,
            "gradle": _maven}

"""The testing agent's pure parts: which test command a repository gets, what each runner's output says, and how
gaps are ranked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devops_orchestra.agents.testing.covered import FileLines
from devops_orchestra.agents.testing.gaps import changed_coverage, find_gaps
from devops_orchestra.agents.testing.suite import NoSuite, Suite, detect, read_output
from devops_orchestra.pipeline import config
from tests.helpers import write


@pytest.mark.parametrize(("files", "framework", "argv_end"), [
    ({"package.json": json.dumps({"scripts": {"test": "jest --ci"}})}, "jest", ["npm", "test", "--silent"]),
    ({"package.json": json.dumps({"scripts": {"test": "vitest run"}})}, "vitest", ["npm", "test", "--silent"]),
    ({"go.mod": "module x\n"}, "go test", ["go", "test", "./..."]),
    ({"pom.xml": "<project/>"}, "maven", ["mvn", "-B", "-q", "test"]),
    ({"build.gradle": "", "gradlew": ""}, "gradle", ["./gradlew", "test"]),
    ({"t/test_a.py": "import pytest\n"}, "pytest", ["-m", "pytest", "-p", "no:cacheprovider"]),
    ({"tests/test_a.py": "import unittest\n"}, "unittest", ["discover", "-s", "tests", "-p", "test*.py"]),
])
def test_the_command_is_detected_from_the_files(tmp_path: Path, files: dict[str, str], framework: str,
                                                argv_end: list[str]) -> None:
    suite = detect(write(tmp_path, files), config.Testing())
    assert isinstance(suite, Suite) and suite.framework == framework
    assert suite.argv[-len(argv_end):] == argv_end


def test_the_configured_command_wins_and_nothing_to_run_says_why(tmp_path: Path) -> None:
    no_script = json.dumps({"scripts": {"test": "echo no test specified"}})
    write(tmp_path, {"tests/test_a.py": "", "package.json": no_script})
    suite = detect(tmp_path, config.Testing(command="make check"))
    assert isinstance(suite, Suite) and suite.argv == ["make", "check"]
    nothing = detect(tmp_path, config.Testing())
    assert isinstance(nothing, NoSuite) and "no test script" in nothing.reason
    assert isinstance(detect(tmp_path, config.Testing(enabled=False)), NoSuite)


JEST = """FAIL src/cart.test.js
  ● cart › applies the coupon

Tests:       1 failed, 1 skipped, 4 passed, 6 total
"""
VITEST = """ FAIL  src/cart.test.ts > cart > applies the coupon
 Test Files  1 failed (1)
      Tests  1 failed | 3 passed (4)
"""
MOCHA = """  3 passing (12ms)
  1 failing

  1) cart
       applies the coupon:
"""
GO = "--- FAIL: TestCoupon (0.00s)\n--- PASS: TestTotal (0.00s)\nFAIL\texample.com/shop\t0.01s\n"
MAVEN = """[ERROR] Tests run: 5, Failures: 1, Errors: 1, Skipped: 1
[ERROR]   CartTest.appliesCoupon:12 expected: <5> but was: <10>
"""


@pytest.mark.parametrize(("framework", "output", "expected"), [
    ("jest", JEST, (4, 1, 1, ["cart › applies the coupon"])),
    ("vitest", VITEST, (3, 1, 0, ["src/cart.test.ts > cart > applies the coupon"])),
    ("mocha", MOCHA, (3, 1, 0, ["cart"])),
    ("go test", GO, (1, 1, 0, ["TestCoupon"])),
    ("maven", MAVEN, (2, 2, 1, ["CartTest.appliesCoupon"])),
])
def test_each_runners_output_gives_counts_and_failing_names(framework: str, output: str,
                                                            expected: tuple[int, int, int, list[str]]) -> None:
    result = read_output(Suite("node", framework, ["x"]), 1, output)
    assert (result.passed, result.failed, result.skipped, result.failing) == expected
    assert result.outcome == "failed" and result.reason and expected[3][0] in result.reason


def test_a_runner_that_is_not_installed_could_not_run_and_says_what_to_do() -> None:
    result = read_output(Suite("python", "pytest", ["/venv/bin/python", "-m", "pytest"]), 1,
                         "/venv/bin/python: No module named pytest\n")
    assert result.outcome == "could not run" and "install the project's test dependencies" in (result.reason or "")
    crashed = read_output(Suite("python", "unittest", ["python"]), 2, "Segmentation fault\n")
    assert crashed.outcome == "failed" and "without naming a failing test" in (crashed.reason or "")


SOURCE = """def simple(x):
    return x


def branchy(x):
    if x > 1:
        return 1
    if x > 2:
        return 2
    return 3


def outer():
    def inner():
        return 1
    return inner
"""


def test_gaps_are_each_functions_own_lines_ranked_by_change_then_complexity() -> None:
    lines = {"m.py": FileLines(frozenset({1, 2, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16}),
                               frozenset({1, 5, 6, 7, 13, 14, 16}))}
    gaps = {g.function: g for g in find_gaps(lines, {"m.py": SOURCE, "t.py": "simple(1)\nsimple(2)\n"}, {})}
    assert set(gaps) == {"simple", "branchy", "outer.inner"}  # outer ran all of its own lines
    assert gaps["outer.inner"].missing_lines == [15] and gaps["branchy"].missing_lines == [8, 9, 10]
    assert (gaps["branchy"].complexity, gaps["simple"].callers) == (3, 2)
    assert gaps["branchy"].risk > gaps["simple"].risk
    touched = {g.function: g for g in find_gaps(lines, {"m.py": SOURCE}, {"m.py": {2}})}
    assert touched["simple"].changed_lines == 1 and touched["simple"].risk > touched["branchy"].risk
    assert changed_coverage(lines, {"m.py": {2, 5, 6}}) == 66.7 and changed_coverage(lines, {"x.py": {1}}) is None


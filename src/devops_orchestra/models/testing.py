"""The testing agent's answers: how the repository's own tests ran, the untested code ranked by risk, and the
tests it generated."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from devops_orchestra.models.base import Model
from devops_orchestra.models.findings import AgentReport, ScannerRun
from devops_orchestra.models.requests import AgentRequest

TestOutcome = Literal["passed", "failed", "could not run"]


# How the repository's own test command ended, in an isolated copy.
class SuiteResult(Model):
    __test__ = False  # not a pytest class
    outcome: TestOutcome
    command: str | None = Field(default=None, description="What ran, as a shell would show it.")
    framework: str | None = None
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failing: list[str] = Field(default_factory=list, description="The failing tests' names.")
    reason: str | None = Field(default=None, description="Why it failed or could not run, and what to do.")
    duration_s: float = 0.0
    coverage: float | None = Field(default=None, description="Percent of statements the tests ran.")
    coverage_tool: str | None = None
    output_tail: str | None = Field(default=None, description="The end of the command's output.")


# A function the tests leave (partly) unrun, and why it is worth a test.
class Gap(Model):
    path: str
    function: str
    start_line: int
    end_line: int
    missing_lines: list[int] = Field(description="Statements the tests never ran.")
    covered_percent: float
    complexity: int = 1
    changed_lines: int = Field(default=0, description="Uncovered lines the change touches.")
    findings: list[str] = Field(default_factory=list, description="Security findings inside it (rule ids).")
    callers: int = Field(default=0, description="Call sites of its name elsewhere in the repository.")
    risk: float = Field(description="Higher first: changed uncovered lines, complexity, findings, callers.")


class TestGapsRequest(AgentRequest):
    """test_gaps: the change to weigh, how long the tests may run, how many gaps to return."""

    __test__ = False
    changed_since: str | None = None
    timeout_s: float | None = None
    max_gaps: int = 50
    security: bool = True
    checks: bool = True


class TestGapsReport(AgentReport):
    """test_gaps: the repository's tests run with coverage; findings are the code-analysis gate's (deptry,
    ruff, the configured JavaScript linter)."""

    __test__ = False
    agent: ClassVar[str] = "testing"
    tests: SuiteResult
    gaps: list[Gap] = Field(description="Riskiest first.")
    gaps_total: int = 0
    changed_since: str | None = None
    changed_coverage: float | None = Field(default=None, description="Percent of changed statements run.")
    checks: list[ScannerRun] = Field(default_factory=list, description="How deptry, ruff and ESLint ran.")
    notes: list[str] = Field(default_factory=list)


# A candidate test kept because it ran green and raised coverage.
class GeneratedTest(Model):
    file: str = Field(description="Where it goes, relative to the repository.")
    target: str = Field(description="path:function it tests.")
    code: str
    source: Literal["ghostwriter", "anthropic"] = "ghostwriter"
    lines_added: int = Field(description="Statements of the repository it runs that no test ran before.")
    written: bool = False


class GeneratedTests(Model):
    """generate_tests: the kept tests, the coverage before and after, and what the IDE's model needs to write
    more (the function, its callers, the existing tests' style)."""

    root: str
    tests: list[GeneratedTest]
    dropped: list[str] = Field(default_factory=list, description="Candidates dropped, and why.")
    coverage_before: float | None = None
    coverage_after: float | None = None
    context: str = Field(default="", description="For the IDE's model: the uncovered functions, their callers, "
                                                 "and an existing test to follow.")
    duration_s: float = 0.0

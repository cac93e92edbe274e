"""test_gaps on fixture repositories with a planted uncovered branch: the real test runners (unittest, pytest,
node --test) in an isolated copy, coverage.py and V8's coverage, a hanging suite stopped at its timeout."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from mcp import Client

from devops_orchestra import cli
from devops_orchestra.agents.testing.gaps import test_gaps as run_test_gaps
from devops_orchestra.server.app import create_server
from devops_orchestra.server.toolsets import Selection
from tests.helpers import NODE_TESTED, PY_FAILING_TEST, PY_HANGING_TEST, PY_TESTED, alive, commit_files, text_of, write

CHANGED_BRANCH = PY_TESTED["shop/prices.py"].replace("unknown coupon {coupon}", "no such coupon: {coupon}")


async def test_the_planted_branch_is_found_and_ranks_first_when_the_change_touches_it(tmp_path: Path) -> None:
    first = commit_files(tmp_path, PY_TESTED)
    report = await run_test_gaps(tmp_path, security=False)
    assert (report.tests.outcome, report.tests.framework, report.tests.passed) == ("passed", "unittest", 3)
    assert report.tests.coverage is not None and 0 < report.tests.coverage < 100
    price = next(g for g in report.gaps if g.function == "price")
    assert (price.path, price.start_line, price.end_line, price.missing_lines) == ("shop/prices.py", 1, 6, [5])
    assert report.gaps[0].function == "label"  # untouched, price's one uncovered line is not the riskiest

    commit_files(tmp_path, {"shop/prices.py": CHANGED_BRANCH})
    changed = await run_test_gaps(tmp_path, changed_since=first, security=False)
    top = changed.gaps[0]
    assert (top.function, top.changed_lines) == ("price", 1), changed.gaps
    assert changed.changed_coverage == 0.0  # the one changed line is the one no test runs
    assert not (tmp_path / ".coverage").exists() and not (tmp_path / "shop" / "__pycache__").exists()


async def test_failing_tests_are_named_and_pytest_is_used_where_configured(tmp_path: Path) -> None:
    write(tmp_path, {**PY_TESTED, **PY_FAILING_TEST, "pytest.ini": "[pytest]\n"})
    os.symlink(Path(os.__file__).parents[2], tmp_path / ".venv")  # this interpreter's environment has pytest
    report = await run_test_gaps(tmp_path, security=False)
    assert (report.tests.outcome, report.tests.framework) == ("failed", "pytest")
    assert report.tests.failing == ["tests/test_broken.py::BrokenTest::test_wrong_total"]
    assert (report.tests.passed, report.tests.failed) == (3, 1)
    assert report.tests.reason and "1 failing" in report.tests.reason


async def test_the_workers_credentials_never_reach_the_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "a" * 36)
    monkeypatch.setenv("SHOP_DB_PASSWORD", "hunter2")
    monkeypatch.setenv("SHOP_REGION", "eu")
    write(tmp_path, {**PY_TESTED, "tests/test_env.py": (
        "import os\nimport unittest\n\n\nclass EnvTest(unittest.TestCase):\n    def test_env(self):\n"
        "        self.assertEqual([k for k in ('GITHUB_TOKEN', 'SHOP_DB_PASSWORD') if k in os.environ], [])\n"
        "        self.assertEqual((os.environ['SHOP_REGION'], os.environ['CI']), ('eu', 'true'))\n")})
    report = await run_test_gaps(tmp_path, security=False)
    assert report.tests.outcome == "passed", report.tests.output_tail


async def test_a_hanging_suite_is_stopped_at_its_timeout_with_its_children(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = tmp_path.parent / f"{tmp_path.name}.child.pid"
    monkeypatch.setenv("CHILD_PID_FILE", str(pid_file))
    write(tmp_path, {**PY_TESTED, **PY_HANGING_TEST})
    report = await run_test_gaps(tmp_path, timeout_s=3, security=False)
    assert report.tests.outcome == "failed" and "longer than 3 s and were stopped" in (report.tests.reason or "")
    assert report.duration_s < 20
    assert not alive(int(pid_file.read_text()))  # the test's own child went with the group


async def test_node_gaps_come_from_v8_coverage(tmp_path: Path) -> None:
    if shutil.which("node") is None and os.environ.get("CI") != "true":
        pytest.skip("node is not installed")
    first = commit_files(tmp_path, NODE_TESTED)
    report = await run_test_gaps(tmp_path, security=False)
    assert (report.tests.outcome, report.tests.framework, report.tests.passed) == ("passed", "node --test", 2)
    assert report.tests.coverage_tool == "V8 (NODE_V8_COVERAGE)"
    gaps = {g.function: g for g in report.gaps}
    assert gaps["discount"].missing_lines == [6] and gaps["discount"].path == "lib/cart.js"
    assert gaps["neverCalled"].missing_lines == [12] and gaps["neverCalled"].covered_percent == 0
    assert report.gaps[0].function == "discount"  # complexity 3 against 1

    commit_files(tmp_path, {"lib/cart.js": NODE_TESTED["lib/cart.js"].replace("x * 2", "x * 3")})
    changed = await run_test_gaps(tmp_path, changed_since=first, security=False)
    assert (changed.gaps[0].function, changed.gaps[0].changed_lines) == ("neverCalled", 1)


async def test_the_tool_says_it_runs_code_and_a_read_only_server_has_none_of_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVOPS_ORCHESTRA_WARM_CHECKOV", "0")
    write(tmp_path / "shop", PY_TESTED)
    async with Client(create_server([tmp_path])) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "test_gaps")
        result = await client.call_tool("test_gaps", {"path": "shop", "max_gaps": 1})
    assert tool.annotations and tool.annotations.read_only_hint is False and tool.annotations.open_world_hint
    assert tool.description and "RUNS THE REPOSITORY'S OWN TESTS" in tool.description
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["tests"]["outcome"] == "passed" and len(result.structured_content["gaps"]) == 1
    assert text_of(result.content[0]).startswith("Tests passed")
    async with Client(create_server([tmp_path], Selection(read_only=True))) as client:
        assert "test_gaps" not in {t.name for t in (await client.list_tools()).tools}


def test_the_cli_prints_the_gaps_and_exits_1_when_tests_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    write(tmp_path, {**PY_TESTED, **PY_FAILING_TEST})
    assert cli.main(["tests", "gaps", str(tmp_path), "--no-security"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("Tests failed") and "shop/prices.py:1-6 price" in out
    assert "test_broken.BrokenTest.test_wrong_total" in out


async def test_a_suite_whose_code_ran_nowhere_measurable_shows_no_gaps_and_says_why(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "def f():\n    return 1\n", "devops_orchestra.yaml": "testing:\n  command: 'true'\n"})
    report = await run_test_gaps(tmp_path, security=False, checks=False)
    assert (report.tests.outcome, report.tests.coverage, report.gaps) == ("passed", None, [])
    assert report.notes == ["no coverage: none of its code ran where coverage could see it (in a container, or "
                            "not at all); the result is the tests' outcome alone"]

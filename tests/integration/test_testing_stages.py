"""The test and build stages in the default pipeline, on the memory:// engine in this process: the repository's
own tests run in a copy, their result gates the run, and the build leaves something deployable."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from devops_orchestra.models.events import BuildReady
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.stages.build import DONE
from devops_orchestra.orchestra.submit import find_commit, run_here, submit
from tests.helpers import PY_FAILING_TEST, PY_TESTED
from tests.helpers import commit_files as commit


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Bus]:
    """One delivery: a stage that raises fails its run at once."""
    opened = open_bus(f"memory://{tmp_path}/state.sqlite", max_deliveries=1)
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_tested_service_passes_and_is_built_into_a_release_with_a_venv(tmp_path: Path, bus: Bus) -> None:
    repo = tmp_path / "shop"
    commit(repo, PY_TESTED)
    done = await run_here(bus, (await submit(bus, await find_commit(str(repo), None)))[0].run_id)
    assert done.state == "succeeded", done
    test = done.stage("test").summary
    assert test.startswith("tests passed: 3 passed; coverage ") and "functions not fully tested" in test, test
    assert done.stage("test").report_run_id
    release = Path(done.stage("build").summary.split(" ")[1].rstrip(":"))
    assert (release / ".venv" / "bin" / "python").exists() and (release / "shop" / "server.py").is_file()
    assert not (release / ".git").exists() and not (repo / ".venv").exists()  # the checkout stays as it was
    ready = BuildReady.model_validate_json((release / DONE).read_text())
    assert (ready.kind, ready.artifact, ready.built) == ("release", str(release), [".venv (standard library only)"])


async def test_failing_tests_stop_the_run_at_their_gate_unless_it_warns(tmp_path: Path, bus: Bus) -> None:
    repo = tmp_path / "shop"
    commit(repo, {**PY_TESTED, **PY_FAILING_TEST})
    stopped = await run_here(bus, (await submit(bus, await find_commit(str(repo), None)))[0].run_id)
    assert stopped.state == "stopped by gate" and stopped.gate is not None and stopped.gate.gate == "tests"
    assert "test_broken.BrokenTest.test_wrong_total" in stopped.gate.reason, stopped.gate.reason
    assert stopped.stage("build").state == "not reached"

    commit(repo, {"devops_orchestra.yaml": "orchestra:\n  gates:\n    tests: warn\n"})
    warned = await run_here(bus, (await submit(bus, await find_commit(str(repo), None)))[0].run_id)
    assert warned.state == "succeeded", warned
    assert "going on despite failing tests" in warned.stage("test").summary


async def test_a_repository_without_tests_goes_on_and_says_so(tmp_path: Path, bus: Bus) -> None:
    commit(tmp_path / "site", {"index.html": "<h1>hi</h1>\n", "README.md": "A page.\n"})
    done = await run_here(bus, (await submit(bus, await find_commit(str(tmp_path / "site"), None)))[0].run_id)
    assert done.state == "succeeded", done
    assert done.stage("test").summary.startswith("tests could not run: no Python tests found")
    assert "nothing to build: the release is the files" in done.stage("build").summary


async def test_the_changed_lines_coverage_floor_stops_an_untested_change(tmp_path: Path, bus: Bus) -> None:
    repo = tmp_path / "shop"
    commit(repo, {**PY_TESTED, "devops_orchestra.yaml": "orchestra:\n  gates:\n    changed_coverage: 80\n"})
    first = await run_here(bus, (await submit(bus, await find_commit(str(repo), None)))[0].run_id)
    assert first.state == "succeeded", first  # the whole repository: 3 of 4 lines of price() and more run
    commit(repo, {"shop/refunds.py": "def refund(amount):\n    if amount < 0:\n        raise ValueError(amount)\n"
                                     "    return -amount\n"})
    second = await run_here(bus, (await submit(bus, await find_commit(str(repo), None)))[0].run_id)
    assert second.state == "stopped by gate" and second.gate is not None, second
    assert second.gate.gate == "changed_coverage" and "0% of the changed lines" in second.gate.reason


@pytest.mark.skipif(os.environ.get("CI") != "true" and os.system("docker info >/dev/null 2>&1") == 0,
                    reason="a container builder answers here: the image would be built")
async def test_a_dockerfile_without_a_builder_points_to_the_ci_workflow(tmp_path: Path, bus: Bus) -> None:
    repo = tmp_path / "shop"
    commit(repo, {**PY_TESTED, "Dockerfile": "FROM python:3.12-slim\nCOPY . /app\n",
                  "devops_orchestra.yaml": "orchestra:\n  gates:\n    verdict: warn\n"})  # the Dockerfile runs as root
    done = await run_here(bus, (await submit(bus, await find_commit(str(repo), None)))[0].run_id)
    assert "no container image: no builder here" in done.stage("build").summary
    assert "generate_pipeline" in done.stage("build").summary


async def test_a_pull_request_from_a_fork_runs_none_of_its_code(tmp_path: Path, bus: Bus) -> None:
    repo = tmp_path / "shop"
    commit(repo, {**PY_TESTED, "tests/test_marker.py": (
        "import pathlib\nimport unittest\n\n\nclass Marker(unittest.TestCase):\n    def test_runs(self):\n"
        f"        pathlib.Path({str(tmp_path / 'ran')!r}).touch()\n")})
    fork = replace(await find_commit(str(repo), None), from_fork=True)
    done = await run_here(bus, (await submit(bus, fork))[0].run_id)
    assert done.state == "succeeded", done
    for stage in ("test", "build"):
        assert "a pull request from a fork: its code is not run on this worker" in done.stage(stage).summary
    assert not (tmp_path / "ran").exists()  # no test of the fork ran

    pushed = await run_here(bus, (await submit(bus, replace(fork, from_fork=False)))[0].run_id)
    assert pushed.run_id != done.run_id  # the same sha pushed to the repository is a run of its own
    assert pushed.stage("test").summary.startswith("tests passed: 4 passed"), pushed  # nothing of the fork's kept
    assert (tmp_path / "ran").exists()

"""`submit . --wait --format json` on a small git repository, then `runs` and `runs show` from other shells."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import git

from devops_orchestra.models.orchestra import PipelineRun
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.runs import RunBook
from tests.helpers import REPO, write


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("DEVOPS_ORCHESTRA_BUS", None)  # the default: memory://, state beside this test's run store
    return subprocess.run([sys.executable, "-m", "devops_orchestra", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_submit_wait_prints_the_run_record_and_other_shells_see_it(tmp_path: Path) -> None:
    root = write(tmp_path / "shop", {"app.py": "def hello():\n    return 'hi'\n"})
    repo = git.Repo.init(root, initial_branch="main")
    repo.index.add(["app.py"])
    sha = repo.index.commit("first", author=git.Actor("t", "t@example.com")).hexsha

    done = run_cli("submit", ".", "--wait", "--format", "json", "--stages", "analysis", cwd=root)
    assert done.returncode == 0, done.stderr
    run = PipelineRun.model_validate_json(done.stdout)
    assert (run.repo, run.ref, run.sha, run.state, run.dirty) == ("shop", "main", sha, "succeeded", False)
    assert run.stage("analysis").summary.startswith("safe to merge: ")

    text = run_cli("submit", "--stages", "analysis", cwd=root)  # submitted before: the same run, said so
    assert text.returncode == 0 and f"run {run.run_id}: shop main {sha[:12]} — submitted before" in text.stdout
    listed = run_cli("runs", "--format", "json", cwd=tmp_path)
    assert [r["run_id"] for r in json.loads(listed.stdout)["runs"]] == [run.run_id]
    shown = run_cli("runs", "show", run.run_id, cwd=tmp_path)
    assert shown.stdout.startswith(f"run {run.run_id}: succeeded\n  shop main {sha}")
    assert "analysis   succeeded in" in shown.stdout and "attempts 1" in shown.stdout


def test_runs_lists_the_newest_first_up_to_the_limit(tmp_path: Path) -> None:
    url = f"memory://{tmp_path}/state.sqlite"

    async def create() -> list[str]:
        book = RunBook(open_bus(url))
        return [(await book.create(repo="shop", ref="main", sha=f"{n:040x}", source=".", stages=["analysis"]))[0].run_id
                for n in range(3)]

    ids = asyncio.run(create())
    listed = json.loads(run_cli("runs", "--limit", "2", "--format", "json", "--bus", url, cwd=tmp_path).stdout)
    assert ([r["run_id"] for r in listed["runs"]], listed["limit"]) == (ids[:0:-1], 2)
    text = run_cli("runs", "--limit", "2", "--bus", url, cwd=tmp_path).stdout
    assert text.count("shop@main") == 2 and "(the newest 2: --limit N lists more)" in text
    assert "--limit" not in run_cli("runs", "--bus", url, cwd=tmp_path).stdout  # all three under the default 50


def test_orchestra_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    for args, said in [
        (("submit", str(tmp_path / "nowhere")), "is not a directory: give a repository's working tree"),
        (("submit", str(tmp_path)), "is not in a git repository: the pipeline runs per commit"),
        (("runs", "--bus", "redis://127.0.0.1:1/0"), "cannot reach the bus at redis://127.0.0.1:1/0"),
        (("bus", "status", "--bus", "kafka://x"), "unknown bus URL 'kafka://x'"),
        (("runs", "show", "nope"), "No pipeline run 'nope' on this bus"),
        (("runs", "--limit", "0"), "--limit must be 1 or more"),
    ]:
        done = run_cli(*args, cwd=tmp_path)
        assert (done.returncode, done.stdout) == (2, ""), done
        assert done.stderr.startswith("devops-orchestra: ") and said in done.stderr
        assert done.stderr.count("\n") == 1, done.stderr

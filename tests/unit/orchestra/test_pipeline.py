"""The orchestra on the memory:// engine, in this process: runs, stages, gates, supersede, retries, the cache."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import git
import pytest

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.models.events import CodePush, Envelope, Payload, TestResults
from devops_orchestra.orchestra import gates, stages
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.runs import RunBook
from devops_orchestra.orchestra.stages.base import Stage, StageContext
from devops_orchestra.orchestra.submit import find_commit, run_here, submit
from devops_orchestra.orchestra.worker import Worker, watch
from devops_orchestra.orchestra.workspaces import WorkspaceCache
from devops_orchestra.pipeline.config import ConfigError, Gates, parse
from tests.helpers import write

APP = {"app.py": "def hello():\n    return 'hi'\n"}
RISKY = {"tool.py": "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"}


def commit(root: Path, files: dict[str, str]) -> str:
    """Write files and commit them on main; the new sha."""
    repo = git.Repo(root) if (root / ".git").exists() else git.Repo.init(root, initial_branch="main")
    write(root, files)
    repo.index.add(list(files))
    return repo.index.commit("change", author=git.Actor("t", "t@example.com")).hexsha


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Bus]:
    opened = open_bus(f"memory://{tmp_path}/state.sqlite", max_deliveries=2)
    yield opened
    await opened.close()


async def test_first_run_analyses_everything_the_next_only_the_change(tmp_path: Path, bus: Bus) -> None:
    repo = tmp_path / "shop"
    first = commit(repo, APP)
    run, created = await submit(bus, await find_commit(str(repo), None), ["analysis"])
    assert created and run.state == "queued" and [s.name for s in run.stages] == ["analysis"]
    done = await run_here(bus, run.run_id)
    analysis = done.stage("analysis")
    assert (done.state, analysis.state, analysis.attempts) == ("succeeded", "succeeded", 1)
    assert analysis.summary.startswith("safe to merge") and "whole repository" in analysis.summary
    assert analysis.report_run_id and analysis.started_at and analysis.finished_at

    commit(repo, RISKY)
    second = await run_here(bus, (await submit(bus, await find_commit(str(repo), None), ["analysis"]))[0].run_id)
    assert f"changes since {first[:12]}" in second.stage("analysis").summary
    assert {r.run_id for r in await RunBook(bus).newest(50)} == {run.run_id, second.run_id}


async def test_the_same_submission_twice_is_one_run_published_once(tmp_path: Path, bus: Bus) -> None:
    commit(tmp_path, APP)
    found = await find_commit(str(tmp_path), None)
    one, created = await submit(bus, found, ["analysis"])
    two, again = await submit(bus, found, ["analysis"])
    assert (created, again, one.run_id) == (True, False, two.run_id)
    assert (await bus.status()).topics == {"code_push": 1}
    other, _ = await submit(bus, found)  # other stages: a run of its own
    assert other.run_id != one.run_id


async def test_a_bad_verdict_stops_the_run_at_the_gate_unless_set_to_warn(tmp_path: Path, bus: Bus) -> None:
    commit(tmp_path, RISKY)
    stopped = await run_here(bus, (await submit(bus, await find_commit(str(tmp_path), None)))[0].run_id)
    assert stopped.state == "stopped by gate" and stopped.gate is not None and stopped.gate.gate == "verdict"
    assert "needs changes" in stopped.gate.reason and "tool.py:5" in stopped.gate.reason
    assert [s.state for s in stopped.stages] == ["succeeded", *["not reached"] * (len(stopped.stages) - 1)]

    commit(tmp_path, {"devops_orchestra.yaml": "orchestra:\n  gates:\n    verdict: warn\n"})
    warned = await run_here(bus, (await submit(bus, await find_commit(str(tmp_path), None)))[0].run_id)
    assert warned.state == "succeeded" and warned.gate is None
    summary = warned.stage("analysis").summary  # a bad verdict is no baseline: tool.py is looked at again
    assert "whole repository" in summary and "going on despite 'needs changes'" in summary
    assert warned.stage("plan").summary.startswith(("proposes", "nothing missing"))


def test_the_deploy_branch_gate_names_the_branches() -> None:
    push = CodePush(source=".")
    stop = gates.check(push, "deploy", "refs/heads/feature", Gates(deploy_branches=["main"]))
    assert stop is not None and stop.gate == "deploy_branches" and "'feature' is not a deploy branch" in stop.reason
    assert gates.check(push, "deploy", "main", Gates(deploy_branches=["main"])) is None
    assert gates.check(push, "plan", "feature", Gates(deploy_branches=["main"])) is None


async def test_a_newer_push_supersedes_a_queued_run(tmp_path: Path, bus: Bus) -> None:
    commit(tmp_path, APP)
    old, _ = await submit(bus, await find_commit(str(tmp_path), None), ["analysis"])
    newer = commit(tmp_path, {"b.py": "B = 1\n"})
    new, _ = await submit(bus, await find_commit(str(tmp_path), None), ["analysis"])
    assert (await run_here(bus, new.run_id)).state == "succeeded"
    replaced = await RunBook(bus).require(old.run_id)
    assert (replaced.state, replaced.superseded_by) == ("superseded", newer)
    assert replaced.stage("analysis").attempts == 0 and (await bus.status()).topics["run_finished"] == 2


class Flaky(Stage):
    """Fails every time, counting its calls."""

    name = "flaky"
    consumes = "code_push"
    publishes = "test_results"
    calls: ClassVar[list[str]] = []

    async def handle(self, event: Envelope, context: StageContext) -> Payload:
        self.calls.append(event.sha)
        raise RuntimeError("the test runner crashed")

    def summary(self, payload: Payload) -> str:
        return ""


async def test_a_failing_stage_is_retried_then_dead_lettered_and_its_run_fails(tmp_path: Path, bus: Bus) -> None:
    commit(tmp_path, APP)
    known: dict[str, Stage] = {"flaky": Flaky()}
    run, _ = await submit(bus, await find_commit(str(tmp_path), None), ["analysis"])
    await RunBook(bus).update(run.run_id, lambda r: setattr(r.stages[0], "name", "flaky"))
    stop = asyncio.Event()
    working = asyncio.create_task(Worker(bus, known, max_deliveries=2, block_s=0.1, lease_s=1).run(stop))
    failed = await watch(RunBook(bus), run.run_id, timeout_s=20)
    stop.set()
    await working
    assert failed.state == "failed" and len(Flaky.calls) == 2
    assert failed.error == "flaky failed 2 times; last: RuntimeError: the test runner crashed"
    assert (failed.stage("flaky").state, failed.stage("flaky").attempts) == ("failed", 2)
    dead = await bus.dead_letters("code_push")
    assert [d.error for d in dead] == ["RuntimeError: the test runner crashed"]


async def test_a_run_whose_workers_all_died_ends_failed_once_its_entry_is_dead_lettered(tmp_path: Path,
                                                                                        bus: Bus) -> None:
    commit(tmp_path, APP)
    run, _ = await submit(bus, await find_commit(str(tmp_path), None), ["analysis"])
    await bus.ensure_group("code_push", "analysis")
    # two workers took the entry and died without a word (max_deliveries=2): no worker can say the run failed
    await bus.read("code_push", "analysis", "gone-1", count=1, block_s=0)
    await bus.reclaim("code_push", "analysis", "gone-2", min_idle_s=0, count=1)
    stop = asyncio.Event()
    working = asyncio.create_task(Worker(bus, stages.builtin(), block_s=0.1, lease_s=0.2).run(stop))
    failed = await watch(RunBook(bus), run.run_id, timeout_s=10)
    stop.set()
    await working
    assert failed.state == "failed" and failed.stage("analysis").state == "failed"
    assert failed.error is not None and failed.error.startswith("analysis was delivered 2 times and never finished")
    assert [d.deliveries for d in await bus.dead_letters("code_push")] == [2]


async def test_a_kept_result_is_published_again_not_redone(tmp_path: Path, bus: Bus) -> None:
    """A redelivery after the result was kept (the worker died before acknowledging) redoes nothing."""
    sha = commit(tmp_path, APP)
    run, _ = await submit(bus, await find_commit(str(tmp_path), None), ["analysis"])
    kept = TestResults(outcome="passed", passed=1)
    await bus.set_once(f"effect:{tmp_path.name}:{sha}:flaky:{'e3b0c44298fc1c14'}", kept.model_dump_json())
    await RunBook(bus).update(run.run_id, lambda r: setattr(r.stages[0], "name", "flaky"))
    Flaky.calls.clear()
    stop = asyncio.Event()
    working = asyncio.create_task(Worker(bus, dict[str, Stage](flaky=Flaky()), block_s=0.1).run(stop))
    done = await watch(RunBook(bus), run.run_id, timeout_s=20)
    stop.set()
    await working
    assert done.state == "succeeded" and Flaky.calls == []
    assert done.stage("flaky").summary == " (the result kept from an earlier delivery)"


def test_stages_chain_from_code_push_and_a_broken_chain_is_refused() -> None:
    known = stages.builtin()
    assert [s.name for s in stages.pipeline(known)][:4] == ["analysis", "plan", "test", "build"]
    with pytest.raises(OrchestraError, match="plan would never run: each needs the event"):
        stages.pipeline(known, ["plan"])
    with pytest.raises(OrchestraError, match="no stage nope; the stages are analysis, build, "):
        stages.pipeline(known, ["nope"])


def test_an_unknown_orchestra_key_is_an_error_with_its_line() -> None:
    with pytest.raises(ConfigError, match=r"line 3: unknown key 'verdikt' in orchestra\.gates"):
        parse("orchestra:\n  gates:\n    verdikt: warn\n")


async def test_a_local_path_outside_git_or_at_another_ref_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(OrchestraError, match="is not in a git repository"):
        await find_commit(str(write(tmp_path / "plain", APP)), None)
    commit(tmp_path / "repo", APP)
    git.Repo(tmp_path / "repo").create_tag("v1")
    commit(tmp_path / "repo", {"b.py": "B = 2\n"})
    with pytest.raises(OrchestraError, match="check out v1 first, or submit the clone URL"):
        await find_commit(str(tmp_path / "repo"), "v1")


async def test_a_url_is_cloned_into_the_bounded_cache(tmp_path: Path, bus: Bus,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVOPS_ORCHESTRA_WORKSPACES", str(tmp_path / "cache"))
    origin = tmp_path / "origin" / "shop"
    first = commit(origin, APP)
    url = origin.as_uri()
    found = await find_commit(url, "main")
    assert (found.repo, found.ref, found.sha, found.dirty) == ("origin/shop", "main", first, False)
    run = await run_here(bus, (await submit(bus, found, ["analysis"]))[0].run_id)
    assert run.state == "succeeded" and run.source == url
    cache = WorkspaceCache(tmp_path / "cache", limit=2)
    shas = [first, commit(origin, {"b.py": "B = 1\n"}), commit(origin, {"c.py": "C = 1\n"})]
    for sha in shas[1:]:
        assert git.Repo(cache.checkout(url, sha)).head.commit.hexsha == sha
    assert len(list((tmp_path / "cache" / "checkouts").iterdir())) == 2  # the oldest evicted
    with pytest.raises(OrchestraError, match="is not a clone URL we fetch"):
        cache.resolve("ext::sh -c touch% /tmp/pwned", None)


async def test_a_broken_config_fails_the_run_at_once_and_a_vanished_checkout_after_retries(
        tmp_path: Path, bus: Bus) -> None:
    commit(tmp_path / "shop", {"devops_orchestra.yaml": "orchestra:\n  gates:\n    verdikt: warn\n"})
    broken = await run_here(bus, (await submit(bus, await find_commit(str(tmp_path / "shop"), None)))[0].run_id)
    assert broken.state == "failed" and broken.error and "line 3: unknown key 'verdikt'" in broken.error
    assert broken.stage("analysis").attempts == 0  # no retry mends a file

    commit(tmp_path / "gone", APP)
    run, _ = await submit(bus, await find_commit(str(tmp_path / "gone"), None), ["analysis"])
    shutil.rmtree(tmp_path / "gone")
    failed = await run_here(bus, run.run_id)
    assert failed.state == "failed" and failed.error and "no longer exists" in failed.error
    assert "delivered" not in failed.error and len(await bus.dead_letters("code_push")) == 1

"""The deploy and observe stages on the memory:// bus with a worker in this process, fed a build_ready as the
build stage publishes it: a good commit is promoted and watched, a bad one rolled back with rollback_event
published, a fork's run never deployed, an environment asking for approval waits for the answer."""

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devops_orchestra.deploy import rollout
from devops_orchestra.models.events import BuildReady, Envelope, new_id
from devops_orchestra.models.orchestra import PipelineRun
from devops_orchestra.orchestra import approvals
from devops_orchestra.orchestra import stages as registry
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.runs import RunBook
from devops_orchestra.orchestra.worker import Worker, watch
from devops_orchestra.pipeline.config import parse
from tests.helpers import free_port, load, need_binaries, webapp_repo

CONFIG = """\
deployment:
  strategy: canary
  services: [{{name: web, runtime: local, start: {python} app.py, health: /health}}]
  environments:
    staging:
      target: local
      listen: "127.0.0.1:{port}"
      instances: 1
      approval: {approval}
      steps: [{{weight: 50, pause: 3s}}]
rollback: {{interval: 1s, threshold: {{duration: 2s}}}}
"""


@pytest.fixture
async def bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bus]:
    monkeypatch.setenv("DEVOPS_ORCHESTRA_DEPLOYS", str(tmp_path / "deploys"))
    opened = open_bus(f"memory://{tmp_path}/state.sqlite", max_deliveries=1)
    try:
        yield opened
    finally:
        await opened.close()


async def built(bus: Bus, repo: Path, sha: str, *, from_fork: bool = False) -> PipelineRun:
    """A run of deploy and observe for sha, worked through by a worker here after its build_ready."""
    run, _ = await RunBook(bus).create(repo="shop", ref="main", sha=sha, source=str(repo),
                                       stages=["deploy", "observe"], from_fork=from_fork)
    await bus.publish("build_ready", Envelope(type="build_ready", repo="shop", ref="main", sha=sha,
                                              run_id=run.run_id, correlation_id=new_id(),
                                              payload=BuildReady(artifact=str(repo))))
    stop = asyncio.Event()
    worker = Worker(bus, registry.builtin(), consume=["deploy", "observe"], block_s=0.2, lease_s=3)
    working = asyncio.create_task(worker.run(stop))
    try:
        return await watch(RunBook(bus), run.run_id, timeout_s=90)
    finally:
        stop.set()
        await working


async def test_good_then_bad_commit_promoted_then_rolled_back(bus: Bus, tmp_path: Path) -> None:
    need_binaries("haproxy", "prometheus")
    port = free_port()
    text = CONFIG.format(python=sys.executable, port=port, approval="false")
    shas = webapp_repo(tmp_path / "repo", text)
    try:
        good = await built(bus, tmp_path / "repo", shas["good"])
        assert good.state == "succeeded", good
        assert good.stage("deploy").summary.startswith("web to staging (canary, dep-")
        # no load on this one: it is promoted, and says that nothing judged it
        assert good.stage("deploy").summary.endswith(f"{shas['good'][:12]} serves all of staging (unjudged: no "
                                                     "SLO had data while it was watched: no traffic, or Prometheus "
                                                     "not yet)")
        assert "success_rate (no request measured) 0 (within" in good.stage("observe").summary
        await bus.ensure_group("rollback_event", "test")
        with load(f"http://127.0.0.1:{port}/", tmp_path / "load.jsonl", rate=30, seconds=8):
            bad = await built(bus, tmp_path / "repo", shas["bad"])
        assert "): rolled back: success_rate" in bad.stage("deploy").summary, bad
        assert bad.state == "failed" and (bad.error or "").startswith("web in staging was rolled back: success_rate")
        assert "success_rate" in bad.stage("observe").summary and "breached, rolled back" in bad.stage(
            "observe").summary
        events = await bus.read("rollback_event", "test", "t", count=5, block_s=0.5)
        assert [(e.event.payload.from_version, e.event.payload.to_version) for e in events] == [  # type: ignore[union-attr]
            (shas["bad"], shas["good"])]
        status = await rollout.target_for(parse(text), "web", "staging").status()
        assert status.stable == shas["good"]
    finally:
        await rollout.undeploy(parse(text), service="web", environment="staging")


async def test_a_fork_is_never_deployed(bus: Bus, tmp_path: Path) -> None:
    shas = webapp_repo(tmp_path / "repo", CONFIG.format(python=sys.executable, port=free_port(), approval="false"))
    done = await built(bus, tmp_path / "repo", shas["good"], from_fork=True)
    assert done.state == "succeeded", done
    assert done.stage("deploy").summary == "not deployed: a pull request from a fork is never deployed"
    assert not (tmp_path / "deploys").exists()


async def test_an_environment_asking_for_approval_waits_for_the_answer(bus: Bus, tmp_path: Path) -> None:
    shas = webapp_repo(tmp_path / "repo", CONFIG.format(python=sys.executable, port=free_port(), approval="true"))
    running = asyncio.create_task(built(bus, tmp_path / "repo", shas["good"]))
    for _ in range(100):
        asked = await approvals.pending(bus)
        if asked:
            break
        await asyncio.sleep(0.1)
    assert [(a.service, a.environment, a.sha) for a in asked] == [("web", "staging", shas["good"])]
    assert not running.done() and not (tmp_path / "deploys").exists()
    await approvals.decide(bus, asked[0].id, approved=False, by="alice")
    done = await running
    assert done.stage("deploy").summary == "not deployed: alice declined the deploy to staging"
    assert not (tmp_path / "deploys").exists()

"""The local target with real processes: the example app's instances, haproxy and Prometheus on loopback
ports, a load generator in a process of its own. A bad canary is rolled back on its measured success rate,
blue-green switches and rolls back under load without a failed request, a killed instance is replaced."""

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from devops_orchestra.core.store import Store
from devops_orchestra.deploy import rollout
from devops_orchestra.models.deploy import DeploymentRecord, Strategy
from devops_orchestra.pipeline.config import OrchestraConfig, parse
from tests.helpers import answers, free_port, load, need_binaries, webapp_repo

CONFIG = """\
deployment:
  strategy: canary
  services:
    - name: web
      runtime: local
      start: {python} app.py
      health: /health
  environments:
    staging:
      target: local
      listen: 127.0.0.1:{port}
      instances: 2
      steps: [{{weight: 20, pause: 4s}}, {{weight: 50, pause: 2s}}]
rollback:
  interval: 1s
  failure_limit: 0
  threshold: {{errors: 5, cpu: 95, duration: 3s}}
observability:
  alerts: [{{type: latency, threshold_ms: 500}}]
"""

Repo = tuple[Path, OrchestraConfig, dict[str, str], str]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    need_binaries("haproxy", "prometheus")
    monkeypatch.setenv("DEVOPS_ORCHESTRA_DEPLOYS", str(tmp_path / "deploys"))
    port = free_port()
    text = CONFIG.format(python=sys.executable, port=port)
    shas = webapp_repo(tmp_path / "repo", text)
    return tmp_path / "repo", parse(text), shas, f"http://127.0.0.1:{port}/"


async def deploy(repo: Path, config: OrchestraConfig, sha: str, strategy: Strategy | None = None
                 ) -> DeploymentRecord:
    store = Store()
    plan = await rollout.plan(config, repo, store, service="web", environment="staging", ref=sha,
                              strategy=strategy, started_by="test")
    return await rollout.execute(plan, config, store, say=print)


async def test_a_bad_canary_is_rolled_back_on_its_measured_success_rate(repo: Repo, tmp_path: Path) -> None:
    root, config, shas, url = repo
    try:
        assert (await deploy(root, config, shas["good"])).state == "succeeded"
        with load(url, tmp_path / "load.jsonl", rate=40, seconds=12):
            record = await deploy(root, config, shas["bad"])
            await asyncio.sleep(2)
        assert record.state == "rolled_back", record.timeline
        assert record.breach is not None and record.breach.slo == "success_rate"
        assert record.breach.measured < 95 and record.breach.threshold == 95
        assert "success_rate" in record.reason and record.restored_at is not None
        after = [a for a in answers(tmp_path / "load.jsonl") if a["t"] > record.restored_at.timestamp() + 0.2]
        assert after and all(a["status"] == "200" and a["version"] == shas["good"][:12] for a in after)
        status = await rollout.target_for(config, "web", "staging").status()
        assert status.stable == shas["good"]
        assert any(i.version == shas["bad"] and i.healthy for i in status.instances)  # kept for diagnosis
        assert Store().deployment(record.deployment_id) == record
        measured = {name for m in record.measurements for name in m.values}
        assert measured == {"success_rate", "p99_latency_ms", "cpu_percent"}  # haproxy's exporter, the app's
    finally:
        await rollout.undeploy(config, service="web", environment="staging")


async def test_blue_green_switch_and_rollback_under_load_fail_no_request(repo: Repo, tmp_path: Path) -> None:
    root, config, shas, url = repo
    try:
        assert (await deploy(root, config, shas["good"], "blue-green")).state == "succeeded"
        with load(url, tmp_path / "load.jsonl", rate=50, seconds=30) as loader:
            await asyncio.sleep(2)
            switched = await deploy(root, config, shas["good2"], "blue-green")
            assert switched.state == "succeeded", switched.timeline
            await asyncio.sleep(2)
            back = await rollout.rollback(config, root, Store(), service="web", environment="staging",
                                          started_by="test")
            assert back.state == "succeeded" and back.plan.sha == shas["good"], back.timeline
            await asyncio.to_thread(loader.wait)
        seen = answers(tmp_path / "load.jsonl")
        assert len(seen) == 1500
        assert [a for a in seen if a["status"] != "200"] == []
        versions = [a["version"] for a in sorted(seen, key=lambda a: a["t"])]
        assert versions[0] == versions[-1] == shas["good"][:12] and shas["good2"][:12] in versions
    finally:
        await rollout.undeploy(config, service="web", environment="staging")


async def test_an_instance_killed_during_a_deploy_is_replaced_and_a_second_deploy_waits_its_turn(
        repo: Repo, tmp_path: Path) -> None:
    root, config, shas, url = repo
    target = rollout.target_for(config, "web", "staging")
    try:
        assert (await deploy(root, config, shas["good"])).state == "succeeded"

        async def kill_one_candidate() -> int:
            for _ in range(200):
                status = await target.status()
                if status.candidate == shas["good2"] and status.weight:
                    victim = next(i for i in status.instances if i.version == shas["good2"])
                    pid: int = next(s.pid for s in target._read().slots  # type: ignore[attr-defined]
                                    if s.name == victim.name)
                    os.kill(pid, signal.SIGKILL)
                    meanwhile = await deploy(root, config, shas["bad"])  # one rollout at a time
                    assert meanwhile.state == "failed" and "under way" in meanwhile.reason
                    return pid
                await asyncio.sleep(0.1)
            raise AssertionError("the canary never took traffic")

        with load(url, tmp_path / "load.jsonl", rate=30, seconds=9):
            record, killed = await asyncio.gather(deploy(root, config, shas["good2"]), kill_one_candidate())
        assert record.state == "succeeded", record.timeline
        supervised = (tmp_path / "deploys" / "staging" / "web" / "logs" / "supervisor.log").read_text()
        assert any(f"pid {killed}" in line and "replaced" in line for line in [*record.timeline, supervised])
        status = await target.status()
        assert [i.healthy for i in status.instances if i.version == shas["good2"]] == [True, True]
        assert [a for a in answers(tmp_path / "load.jsonl") if a["status"] != "200"] == []
    finally:
        await rollout.undeploy(config, service="web", environment="staging")


async def test_rolling_replaces_the_instances_one_by_one_and_a_rollback_brings_them_all_back(
        repo: Repo, tmp_path: Path) -> None:
    root, _, shas, url = repo
    config = parse(CONFIG.format(python=sys.executable, port=url.split(":")[-1].rstrip("/")).replace(
        "instances: 2", "instances: 3"))
    target = rollout.target_for(config, "web", "staging")
    running: list[int] = []

    async def count() -> None:
        while True:
            running.append(sum(i.healthy for i in (await target.status()).instances))
            await asyncio.sleep(0.05)

    try:
        assert (await deploy(root, config, shas["good"], "rolling")).state == "succeeded"
        with load(url, tmp_path / "load.jsonl", rate=40, seconds=10) as loader:
            counting = asyncio.create_task(count())
            rolled = await deploy(root, config, shas["good2"], "rolling")
            counting.cancel()
            await asyncio.to_thread(loader.wait)
        assert rolled.state == "succeeded", rolled.timeline
        assert max(running) == 4  # one more than the environment's 3, never twice as many
        assert [a for a in answers(tmp_path / "load.jsonl") if a["status"] != "200"] == []
        assert [i.version for i in (await target.status()).instances] == [shas["good2"]] * 3

        with load(url, tmp_path / "bad.jsonl", rate=40, seconds=10):
            bad = await deploy(root, config, shas["bad"], "rolling")
        assert bad.state == "rolled_back", bad.timeline
        stable = [i for i in (await target.status()).instances if i.version == shas["good2"]]
        assert len(stable) == 3 and all(i.healthy for i in stable)
    finally:
        await rollout.undeploy(config, service="web", environment="staging")

"""The kubernetes target (deploy/targets/kubernetes.py) through the Target interface the strategies drive, on the
pipeline agent's manifests, against the local Kubernetes API server of tests/fakes/kube_api.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devops_orchestra.core.store import Store
from devops_orchestra.deploy import rollout
from devops_orchestra.deploy.targets.base import DeployError, Target
from devops_orchestra.models.deploy import DeployPlan, Strategy
from devops_orchestra.pipeline.config import OrchestraConfig, parse
from tests.fakes.kube_api import FakeKube, fake_kube, generated_manifests, kubeconfig

CONFIG = """\
project: {{name: shop}}
deployment:
  strategy: {strategy}
  services: [{{name: web, port: 8080}}]
  environments:
    staging:
      target: kubernetes
      context: staging
      namespace: shop-staging
      prometheus: http://127.0.0.1:9
      steps: [{{weight: 10, pause: 1s}}, {{weight: 50, pause: 1s}}]
"""
A, B = "a" * 40, "b" * 40


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKube]:
    with fake_kube(namespaces=("default",)) as server:
        (tmp_path / "kubeconfig").write_text(kubeconfig(server, context="staging"))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        monkeypatch.setenv("DEVOPS_ORCHESTRA_DEPLOYS", str(tmp_path / "deploys"))
        yield server
        assert not server.errors, server.errors[0]


def setup(tmp_path: Path, strategy: Strategy) -> tuple[OrchestraConfig, Path]:
    generated_manifests(tmp_path / "repo", strategy)
    return parse(CONFIG.format(strategy=strategy)), tmp_path / "repo"


async def plan_for(config: OrchestraConfig, root: Path, sha: str) -> tuple[Target, DeployPlan]:
    plan = await rollout.plan(config, root, Store(), service="web", environment="staging", ref=sha, sha=sha,
                              started_by="test")
    return rollout.target_for(config, "web", "staging"), plan


async def first_deploy(config: OrchestraConfig, root: Path) -> None:
    target, plan = await plan_for(config, root, A)
    assert plan.stable_sha is None
    await target.prepare(plan)
    await target.set_weight(plan, 100)
    await target.promote(plan)
    assert (await target.status()).stable == A


async def second_deploy(tmp_path: Path, strategy: Strategy) -> tuple[OrchestraConfig, Path, Target, DeployPlan]:
    """A deployed, then B prepared beside it."""
    config, root = setup(tmp_path, strategy)
    await first_deploy(config, root)
    target, plan = await plan_for(config, root, B)
    await target.prepare(plan)
    return config, root, target, plan


async def test_canary_steps_through_the_plans_weights(tmp_path: Path, fake: FakeKube) -> None:
    calls, start = len(fake.calls), time.monotonic()
    _, _, target, plan = await second_deploy(tmp_path, "canary")
    assert plan.stable_sha == A and [s.weight for s in plan.steps] == [10, 50]
    status = await target.status()
    assert (status.stable, status.candidate, status.weight) == (A, B, 10)
    steps = fake.get("rollouts", "web", "shop-staging")["spec"]["strategy"]["canary"]["steps"]
    assert steps == [{"setWeight": 10}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]
    await target.set_weight(plan, 10)
    await target.set_weight(plan, 50)
    assert (await target.status()).weight == 50
    await target.promote(plan)
    elapsed = time.monotonic() - start
    status = await target.status()
    assert (status.stable, status.candidate) == (B, None)
    assert {i.version for i in status.instances} == {B} and all(i.healthy for i in status.instances)
    print(f"\ntwo canary deploys through the target: {elapsed * 1000:.0f} ms, {len(fake.calls) - calls} API calls "
          "(status calls included)")
    query = target.queries(plan)["success_rate"]
    rs = fake.get("rollouts", "web", "shop-staging")["status"]["currentPodHash"]
    assert f'namespace="shop-staging",pod=~"web-{rs}-.*"' in query


async def test_canary_abort_keeps_the_stable_version_serving(tmp_path: Path, fake: FakeKube) -> None:
    config, root, target, plan = await second_deploy(tmp_path, "canary")
    await target.abort(plan)
    await target.abort(plan)  # asked twice (a failure after a breach): the same end
    status = await target.status()
    assert (status.stable, status.candidate, status.weight) == (A, B, 0)
    assert fake.get("rollouts", "web", "shop-staging")["status"]["abort"] is True
    # the next deploy of the stable sha (a rollback) brings the Rollout back to Healthy
    target, back = await plan_for(config, root, A)
    await target.prepare(back)
    assert (await target.status()).stable == A


async def test_rolling_abort_undoes_once(tmp_path: Path, fake: FakeKube) -> None:
    _, _, target, plan = await second_deploy(tmp_path, "rolling")
    assert (await target.status()).stable == B
    await target.abort(plan)
    await target.abort(plan)  # the second does not flip back to B
    status = await target.status()
    assert status.stable == A
    web = fake.get("deployments", "web", "shop-staging")
    assert web["spec"]["template"]["metadata"]["annotations"]["devops-orchestra/sha"] == A


async def test_blue_green_switches_on_full_weight(tmp_path: Path, fake: FakeKube) -> None:
    _, _, target, plan = await second_deploy(tmp_path, "blue-green")
    status = await target.status()
    assert (status.stable, status.candidate, status.weight) == (A, B, 0)
    await target.set_weight(plan, 100)
    await target.promote(plan)
    assert (await target.status()).stable == B


async def test_what_is_refused_before_anything_is_applied(tmp_path: Path, fake: FakeKube) -> None:
    config, root = setup(tmp_path, "rolling")
    target, plan = await plan_for(config, root, A)
    with pytest.raises(DeployError, match="is a Deployment, but the deploy is canary"):
        await target.prepare(plan.model_copy(update={"strategy": "canary"}))
    no_prometheus = parse(CONFIG.format(strategy="rolling").replace("      prometheus: http://127.0.0.1:9\n", ""))
    target = rollout.target_for(no_prometheus, "web", "staging")
    with pytest.raises(DeployError, match="has no `prometheus:`"):
        await target.prepare(plan)
    assert not [c for c in fake.calls if c[0] == "PATCH"]


async def test_a_failed_analysis_fails_the_deploy_and_restores_the_stable_version(
        tmp_path: Path, fake: FakeKube) -> None:
    config, root = setup(tmp_path, "canary")
    await first_deploy(config, root)
    fake.scenario.fail_analysis_at_weight = 10  # Argo's own analysis (the generated AnalysisTemplate) fails
    store = Store()
    plan = await rollout.plan(config, root, store, service="web", environment="staging", ref=B, sha=B,
                              started_by="test")
    record = await rollout.execute(plan, config, store)
    assert record.state == "failed" and 'metric "error-rate" assessed Failed' in record.reason
    assert record.restored_at is not None
    assert (await rollout.target_for(config, "web", "staging").status()).stable == A


async def test_undeploy_deletes_what_was_applied(tmp_path: Path, fake: FakeKube) -> None:
    config, root = setup(tmp_path, "canary")
    await first_deploy(config, root)
    await rollout.undeploy(config, service="web", environment="staging")
    assert not [k for k in fake.objects if k[2] == "shop-staging"]  # the namespace stays: it may hold more
    assert (await rollout.target_for(config, "web", "staging").status()).stable is None

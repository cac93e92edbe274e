"""The kubernetes target (deploy/targets/kubernetes.py) through the Target interface the strategies drive, on the
pipeline agent's manifests, against the local Kubernetes API server of tests/fakes/kube_api.py."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest
import yaml

from devops_orchestra.core.store import Store
from devops_orchestra.deploy import rollout
from devops_orchestra.deploy.targets.base import DeployError, Target
from devops_orchestra.models.deploy import DeployPlan, Strategy
from devops_orchestra.pipeline.config import OrchestraConfig, parse
from tests.fakes.kube_api import FakeKube, fake_kube, generated_manifests, kubeconfig
from tests.helpers import free_port, need_binaries

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


@contextmanager
def pods_metrics(fake: FakeKube, failing_per_10: int) -> Iterator[str]:
    """What the pods' /metrics would say (they cannot run here): http_requests_total of two stable pods and one
    canary pod, named after their ReplicaSets as the fake's Rollout says, the canary failing failing_per_10 of
    every 10 requests; counting 50 requests per pod between scrapes. Its host:port."""
    count: dict[tuple[str, str], int] = {}

    class Metrics(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status = fake.get("rollouts", "web", "shop-staging").get("status", {})
            pods = [(f"web-{status.get('stableRS')}-x{i}", 0) for i in range(2)]
            if status.get("currentPodHash") != status.get("stableRS") and not status.get("abort"):
                pods.append((f"web-{status['currentPodHash']}-y0", failing_per_10))
            lines = ["# TYPE http_requests_total counter"]
            for pod, failing in pods:
                for code, share in (("500", failing), ("200", 10 - failing)):
                    count[pod, code] = count.get((pod, code), 0) + 5 * share
                    lines.append(f'http_requests_total{{namespace="shop-staging",pod="{pod}",status="{code}"}} '
                                 f"{count[pod, code]}")
            body = ("\n".join(lines) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def prometheus_scraping(target: str, home: Path) -> Iterator[str]:
    """A real Prometheus on a loopback port scraping target every 250 ms; its URL once it has scraped it (target
    discovery takes up to 5 s after start)."""
    need_binaries("prometheus")
    port = free_port()
    (home / "data").mkdir(parents=True)
    (home / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "250ms", "scrape_timeout": "250ms"},
        "scrape_configs": [{"job_name": "pods", "honor_labels": True, "static_configs": [{"targets": [target]}]}]}))
    with (home / "log").open("wb") as log:
        proc = subprocess.Popen(["prometheus", f"--config.file={home / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={home / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (home / "log").read_text()[-2000:]
            try:
                if httpx2.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=1).json()["data"]["result"]:
                    break
            except (httpx2.TransportError, ValueError, KeyError):
                pass
            assert time.monotonic() < deadline, "prometheus did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


async def test_a_canary_breaching_its_slo_is_aborted(tmp_path: Path, fake: FakeKube) -> None:
    """deploy → 10% → the canary's pods fail 3 requests in 10 (measured by a real Prometheus) → abort: the stable
    ReplicaSet serves everything again, and the record says which SLO, what was measured and the limit."""
    config, root = setup(tmp_path, "canary")
    await first_deploy(config, root)
    with pods_metrics(fake, failing_per_10=3) as target, prometheus_scraping(target, tmp_path / "prom") as url:
        text = CONFIG.format(strategy="canary").replace("http://127.0.0.1:9", url).replace("pause: 1s", "pause: 3s")
        config = parse(text + "rollback: {interval: 1s, failure_limit: 0, threshold: {errors: 5}}\n")
        store = Store()
        plan = await rollout.plan(config, root, store, service="web", environment="staging", ref=B, sha=B,
                                  started_by="test")
        record = await rollout.execute(plan, config, store)
    assert record.state == "rolled_back", (record.timeline, record.measurements)
    assert record.breach is not None and record.breach.slo == "success_rate" and record.breach.threshold == 95
    assert 60 < record.breach.measured < 80 and record.restored_at is not None
    assert record.measurements[-1].weight == 10
    print(f"\nbreach measured -> traffic back on stable (aborted): "
          f"{(record.restored_at - record.measurements[-1].at).total_seconds() * 1000:.0f} ms")
    status = await rollout.target_for(config, "web", "staging").status()
    assert (status.stable, status.candidate, status.weight) == (A, B, 0)
    assert fake.get("rollouts", "web", "shop-staging")["status"]["abort"] is True


async def test_rollback_puts_the_previous_version_back_through_the_canary_rollout(
        tmp_path: Path, fake: FakeKube) -> None:
    """`rollback` plans an all-at-once switch (blue-green, one 100% step): the canary Rollout does it."""
    config, root = setup(tmp_path, "canary")
    config = parse(CONFIG.format(strategy="canary").replace("pause: 1s", "pause: 0s"))  # nothing to watch
    store = Store()
    for sha in (A, B):
        plan = await rollout.plan(config, root, store, service="web", environment="staging", ref=sha, sha=sha,
                                  started_by="test")
        assert (await rollout.execute(plan, config, store)).state == "succeeded"
    record = await rollout.rollback(config, root, store, service="web", environment="staging", started_by="test")
    assert record.state == "succeeded", record.timeline
    assert (await rollout.target_for(config, "web", "staging").status()).stable == A
    steps = fake.get("rollouts", "web", "shop-staging")["spec"]["strategy"]["canary"]["steps"]
    assert steps == [{"setWeight": 100}, {"pause": {}}]

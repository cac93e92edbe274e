"""The kubernetes deploy calls (deploy/kube) through lightkube against a local API server speaking the Kubernetes
wire format (tests/fakes/kube_api.py), on manifests the pipeline agent generates: apply, watch, promote, abort,
undo, and each way it goes wrong."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube.resources.apps_v1 import Deployment
from lightkube.types import PatchType

from devops_orchestra.deploy.kube import Cluster, KubeError
from devops_orchestra.deploy.kube import manifests as mf
from devops_orchestra.deploy.kube import rollout as ro
from tests.fakes.kube_api import FakeKube, fake_kube, generated_manifests, kubeconfig
from tests.helpers import free_port, need_binaries


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKube]:
    with fake_kube(namespaces=("default",)) as server:
        (tmp_path / "kubeconfig").write_text(kubeconfig(server, context="staging", namespace="default"))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        yield server
        assert not server.errors, server.errors[0]


def steps(docs: list[mf.Manifest], canary: list[dict[str, Any]]) -> list[mf.Manifest]:
    for m in docs:
        if m.kind == "Rollout" and "canary" in m.doc["spec"]["strategy"]:
            m.doc["spec"]["strategy"]["canary"]["steps"] = canary
    return docs


async def deploy(cluster: Cluster, k8s: Path, sha: str, canary: list[dict[str, Any]] | None = None) -> int | None:
    """Apply the manifests for sha; the Deployment's generation (what a workloadRef Rollout must observe)."""
    docs = mf.prepare(mf.load(k8s), cluster.namespace, "web", sha)
    if canary is not None:
        steps(docs, canary)
    applied = await ro.apply_all(cluster, docs)
    return next(a.generation for a in applied if a.kind == "Deployment")


def healthy(s: Any) -> bool:
    return bool(s.phase == "Healthy")


async def test_rolling_deploy_applies_the_generated_manifests_and_watches_the_rollout(
        tmp_path: Path, fake: FakeKube) -> None:
    k8s = generated_manifests(tmp_path / "shop", "rolling")
    fake.scenario.ready_after = 0.3  # the pods take a while: the watch sees the rollout through
    fake.expire_watches = 1  # and the first watch is answered 410 Expired: GET and watch again
    async with Cluster("staging", "prod") as cluster:
        start = time.monotonic()
        await deploy(cluster, k8s, "a" * 40)
        done = await ro.wait(cluster, "Deployment", "web", healthy, within=10)
        elapsed = time.monotonic() - start
    assert done.phase == "Healthy" and done.revision == 1 and done.available == 2
    web = fake.get("deployments", "web", "prod")
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith("/web:" + "a" * 40)
    assert web["spec"]["template"]["metadata"]["annotations"]["devops-orchestra/sha"] == "a" * 40
    assert fake.get("namespaces", "prod")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    applies = [path for method, path in fake.calls if method == "PATCH"]
    assert all("fieldManager=devops-orchestra" in p and "force=true" in p for p in applies)
    assert [m for m, p in fake.calls if "watch=true" in p] == ["GET", "GET"]
    print(f"\napply+watch (one watch expired): {elapsed * 1000:.0f} ms, {len(fake.calls)} API calls "
          f"({len(applies)} applies)")


async def test_deployment_undo_restores_the_previous_template(tmp_path: Path, fake: FakeKube) -> None:
    k8s = generated_manifests(tmp_path / "shop", "rolling")
    async with Cluster("staging", "default") as cluster:
        for sha in ("a" * 40, "b" * 40):
            await deploy(cluster, k8s, sha)
            await ro.wait(cluster, "Deployment", "web", healthy, within=10)
        assert [r.sha for r in await ro.history(cluster, "Deployment", "web")] == ["b" * 40, "a" * 40]
        undone = await ro.undo(cluster, "Deployment", "web")
        assert (undone.revision, undone.sha, undone.skipped) == (1, "a" * 40, False)
        back = await ro.wait(cluster, "Deployment", "web", lambda s: healthy(s) and s.revision == 3, within=10)
    assert back.phase == "Healthy"
    web = fake.get("deployments", "web", "default")
    assert web["spec"]["template"]["metadata"]["annotations"]["devops-orchestra/sha"] == "a" * 40
    assert "pod-template-hash" not in web["spec"]["template"]["metadata"]["labels"]
    assert ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=devops-orchestra") in fake.calls


async def test_canary_rollout_pauses_at_each_step_and_promotes_to_healthy(tmp_path: Path, fake: FakeKube) -> None:
    k8s = generated_manifests(tmp_path / "shop", "canary")
    canary: list[dict[str, Any]] = [{"setWeight": 10}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]
    async with Cluster("staging", "default") as cluster:
        generation = await deploy(cluster, k8s, "a" * 40, canary)
        first = await ro.wait(cluster, "Rollout", "web", healthy, 10, generation)  # the first revision: no steps
        assert first.stable_hash == first.current_hash
        generation = await deploy(cluster, k8s, "b" * 40, canary)
        paused = await ro.wait(cluster, "Rollout", "web", lambda s: s.phase == "Paused", 10, generation)
        assert (paused.step, paused.weight, paused.message) == (1, 10, "CanaryPauseStep")
        await ro.promote(cluster, "web")
        paused = await ro.wait(cluster, "Rollout", "web", lambda s: s.phase == "Paused" and s.step == 3, 10)
        assert paused.weight == 50
        await ro.promote(cluster, "web")
        done = await ro.wait(cluster, "Rollout", "web", healthy, 10)
        revisions = await ro.history(cluster, "Rollout", "web")
    assert done.weight == 100 and done.stable_hash == done.current_hash != first.current_hash
    assert [r.sha for r in revisions] == ["b" * 40, "a" * 40]
    status_patches = [p for m, p in fake.calls if m == "PATCH" and p.split("?")[0].endswith("/rollouts/web/status")]
    assert len(status_patches) == 2  # promote clears the pause through the status subresource, as the plugin does


async def test_canary_abort_and_undo_through_the_workload_ref(tmp_path: Path, fake: FakeKube) -> None:
    k8s = generated_manifests(tmp_path / "shop", "canary")
    canary: list[dict[str, Any]] = [{"setWeight": 20}, {"pause": {}}]
    async with Cluster("staging", "default") as cluster:
        await ro.wait(cluster, "Rollout", "web", healthy, 10, await deploy(cluster, k8s, "a" * 40, canary))
        generation = await deploy(cluster, k8s, "b" * 40, canary)
        await ro.wait(cluster, "Rollout", "web", lambda s: s.phase == "Paused", 10, generation)
        await ro.abort(cluster, "web")
        aborted = await ro.wait(cluster, "Rollout", "web", lambda s: s.aborted and s.phase == "Degraded", 10)
        assert aborted.weight == 0 and "RolloutAborted" in aborted.message
        undone = await ro.undo(cluster, "Rollout", "web")  # the Deployment's template back to a's
        assert undone.sha == "a" * 40
        back = await ro.wait(cluster, "Rollout", "web", healthy, 10,
                             fake.get("deployments", "web", "default")["metadata"]["generation"])
    assert back.current_hash == back.stable_hash == aborted.stable_hash


INLINE_ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: 'example/web:1.0', ports: [{containerPort: 8080}]}]
  strategy:
    canary:
      steps: [{setWeight: 20}, {pause: {}}, {setWeight: 60}, {pause: {duration: 1}}, {setWeight: 80},
              {pause: {duration: 0.2s}}]
"""


async def test_a_rollout_with_its_own_template_and_timed_pauses(tmp_path: Path, fake: FakeKube) -> None:
    """A Rollout as Argo's examples write them (template inline, timed pauses): promote past the indefinite pause,
    the timed ones pass by themselves, and undo patches the Rollout's own template."""
    (tmp_path / "rollout.yaml").write_text(INLINE_ROLLOUT)
    async with Cluster("staging", "default") as cluster:
        for sha in ("a" * 40, "b" * 40):
            applied = await ro.apply_all(cluster, mf.prepare(mf.load(tmp_path / "rollout.yaml"), "default", "web",
                                                             sha))
            assert [a.kind for a in applied] == ["Rollout"]
            if sha == "a" * 40:
                await ro.wait(cluster, "Rollout", "web", healthy, 10)
        paused = await ro.wait(cluster, "Rollout", "web", lambda s: s.phase == "Paused", 10)
        assert (paused.step, paused.steps, paused.weight) == (1, 6, 20)
        await ro.promote(cluster, "web")
        timed = await ro.wait(cluster, "Rollout", "web", lambda s: s.step == 3, 10)
        assert (timed.phase, timed.weight) == ("Progressing", 60)  # a timed pause is no Paused phase
        done = await ro.wait(cluster, "Rollout", "web", healthy, 10)
        undone = await ro.undo(cluster, "Rollout", "web")
        back = await ro.wait(cluster, "Rollout", "web", lambda s: s.phase == "Paused", 10)
    assert done.weight == 100 and undone.sha == "a" * 40 and back.current_hash != done.current_hash
    template = fake.get("rollouts", "web", "default")["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "example/web:" + "a" * 40
    assert "rollouts-pod-template-hash" not in template["metadata"]["labels"]


async def test_a_failed_analysis_degrades_the_rollout_and_the_watch_says_why(tmp_path: Path, fake: FakeKube) -> None:
    k8s = generated_manifests(tmp_path / "shop", "canary")
    async with Cluster("staging", "default") as cluster:
        await ro.wait(cluster, "Rollout", "web", healthy, 10, await deploy(cluster, k8s, "a" * 40))
        fake.scenario.fail_analysis_at_weight = 50
        generation = await deploy(cluster, k8s, "b" * 40, [{"setWeight": 10}, {"setWeight": 50}, {"pause": {}}])
        with pytest.raises(KubeError) as failed:
            await ro.wait(cluster, "Rollout", "web", healthy, 10, generation)
    assert failed.value.reason == "degraded"
    assert 'metric "error-rate" assessed Failed' in str(failed.value) and "Degraded" in str(failed.value)


async def test_blue_green_waits_for_promotion(tmp_path: Path, fake: FakeKube) -> None:
    k8s = generated_manifests(tmp_path / "shop", "blue-green")
    async with Cluster("staging", "default") as cluster:
        await ro.wait(cluster, "Rollout", "web", healthy, 10, await deploy(cluster, k8s, "a" * 40))
        generation = await deploy(cluster, k8s, "b" * 40)
        paused = await ro.wait(cluster, "Rollout", "web", lambda s: s.phase == "Paused", 10, generation)
        assert paused.message == "BlueGreenPause" and paused.current_hash != paused.stable_hash
        await ro.promote(cluster, "web")
        done = await ro.wait(cluster, "Rollout", "web", healthy, 10)
    assert fake.get("rollouts", "web", "default")["status"]["blueGreen"]["activeSelector"] == done.current_hash


async def test_a_rollout_that_never_becomes_ready(tmp_path: Path, fake: FakeKube) -> None:
    """Past the watch's time: a timeout quoting the conditions; past the progress deadline: Degraded."""
    k8s = generated_manifests(tmp_path / "shop", "rolling")
    fake.scenario.never_ready = True
    async with Cluster("staging", "default") as cluster:
        docs = mf.prepare(mf.load(k8s), "default", "web", "a" * 40)
        mf.workload(docs, "web").doc["spec"]["progressDeadlineSeconds"] = 1
        await ro.apply_all(cluster, docs)
        start = time.monotonic()
        with pytest.raises(KubeError) as late:
            await ro.wait(cluster, "Deployment", "web", healthy, within=0.5)
        assert late.value.reason == "timeout" and time.monotonic() - start < 1.5
        assert "did not get there within 0.5s" in str(late.value)
        assert 'ReplicaSet "web-' in str(late.value) and "is progressing" in str(late.value)
        with pytest.raises(KubeError) as stuck:
            await ro.wait(cluster, "Deployment", "web", healthy, within=10)
    assert stuck.value.reason == "degraded" and "exceeded its progress deadline" in str(stuck.value)
    assert "has timed out progressing" in str(stuck.value) and "minimum availability" in str(stuck.value)


async def test_api_errors_speak_to_the_person(tmp_path: Path, fake: FakeKube) -> None:
    k8s = generated_manifests(tmp_path / "shop", "rolling")
    docs = mf.load(k8s)
    async with Cluster("staging", "missing") as cluster:  # 404: the namespace is not there (nor in the manifests)
        with pytest.raises(KubeError) as missing:
            await ro.apply_all(cluster, [m for m in mf.prepare(docs, "missing", "web", "a" * 40)
                                         if m.kind != "Namespace"])
    assert missing.value.reason == "not_found" and 'namespaces "missing" not found' in str(missing.value)
    async with Cluster("staging", "default") as cluster:
        bad = mf.prepare(docs, "default", "web", "a" * 40)
        bad[1].doc["metadata"]["name"] = "Web_1"
        with pytest.raises(KubeError) as invalid:  # 422
            await ro.apply_all(cluster, bad[1:2])
        assert invalid.value.reason == "invalid" and "RFC 1123" in str(invalid.value) and "00-namespace" not in str(
            invalid.value)
        fake.denied.add(("patch", "deployments"))
        with pytest.raises(KubeError) as forbidden:  # 403
            await deploy(cluster, k8s, "a" * 40)
        assert forbidden.value.reason == "forbidden"
        assert 'cannot patch resource "deployments" in API group "apps"' in str(forbidden.value)
        assert "Role" in str(forbidden.value)
        fake.denied.clear()
        await deploy(cluster, k8s, "a" * 40)
        await cluster.client.patch(Deployment, "web", {"spec": {"replicas": 5}}, namespace="default",
                                   patch_type=PatchType.MERGE, field_manager="kubectl-scale")
        with pytest.raises(KubeError) as conflict:  # 409 without force; force takes the field over
            await ro.apply_all(cluster, mf.prepare(docs, "default", "web", "a" * 40), force=False)
        assert conflict.value.reason == "conflict" and ".spec.replicas" in str(conflict.value)
        await ro.apply_all(cluster, mf.prepare(docs, "default", "web", "a" * 40))
        assert fake.get("deployments", "web", "default")["spec"]["replicas"] == 2


async def test_a_kind_of_the_repository_is_found_in_the_api_servers_discovery(
        tmp_path: Path, fake: FakeKube) -> None:
    """A CRD's object: one discovery GET for its group and version, then applied like the others; a group the
    cluster does not serve is refused before anything else is applied."""
    crontab = "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {{name: {}}}\nspec: {{cronSpec: '{}'}}\n"
    (tmp_path / "crd.yaml").write_text(crontab.format("nightly", "0 3 * * *") + "---\n"
                                       + crontab.format("hourly", "0 * * * *"))
    async with Cluster("staging", "default") as cluster:
        await ro.apply_all(cluster, mf.load(tmp_path / "crd.yaml"))
        assert fake.get("crontabs", "hourly", "default")["spec"] == {"cronSpec": "0 * * * *"}
        assert [c for c in fake.calls if c[0] == "GET"] == [("GET", "/apis/stable.example.com/v1")]
        (tmp_path / "other.yaml").write_text("apiVersion: example.org/v2\nkind: Widget\nmetadata: {name: w}\n")
        with pytest.raises(KubeError) as unknown:
            await ro.apply_all(cluster, mf.load(tmp_path / "other.yaml"))
    assert unknown.value.reason == "config" and "the cluster has no API example.org/v2" in str(unknown.value)
    assert "CustomResourceDefinition" in str(unknown.value)


async def test_credentials_the_server_refuses(tmp_path: Path, fake: FakeKube, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "wrong").write_text(kubeconfig(fake, context="staging", token="not-the-token"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "wrong"))
    async with Cluster("staging", None) as cluster:
        with pytest.raises(KubeError) as refused:
            await ro.status(cluster, "Deployment", "web")
    assert refused.value.reason == "unauthorized" and "not-the-token" not in str(refused.value)


async def test_an_unreachable_server_is_unavailable_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = FakeKube(url=f"http://127.0.0.1:{free_port()}")
    (tmp_path / "kubeconfig").write_text(kubeconfig(closed, context="staging"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    start = time.monotonic()
    async with Cluster("staging", None) as cluster:
        with pytest.raises(KubeError) as down:
            await ro.status(cluster, "Deployment", "web")
    assert down.value.reason == "unavailable" and time.monotonic() - start < 2
    assert f"{closed.url} (context 'staging', namespace 'default') is unavailable" in str(down.value)
    assert "kubectl --context staging" in str(down.value)


@pytest.fixture
def certificates(tmp_path: Path) -> Path:
    """Two self-signed certificates for 127.0.0.1 (cluster.crt/.key and other.crt/.key) under tmp_path."""
    need_binaries("openssl")
    for name in ("cluster", "other"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(tmp_path / f"{name}.key"), "-out", str(tmp_path / f"{name}.crt")],
                       check=True, capture_output=True)
    return tmp_path


async def test_tls_verified_with_the_kubeconfigs_certificate_authority(
        tmp_path: Path, certificates: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_kube(tls=(tmp_path / "cluster.crt", tmp_path / "cluster.key")) as fake:
        assert fake.url.startswith("https://")
        (tmp_path / "kubeconfig").write_text(kubeconfig(fake, context="staging"))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        async with Cluster("staging", None) as cluster:
            with pytest.raises(KubeError) as missing:
                await ro.status(cluster, "Deployment", "web")
        assert missing.value.reason == "not_found"  # the answer came back over TLS
        fake.ca = (tmp_path / "other.crt").read_bytes()  # a kubeconfig trusting another CA
        (tmp_path / "kubeconfig").write_text(kubeconfig(fake, context="staging"))
        async with Cluster("staging", None) as cluster:
            with pytest.raises(KubeError) as untrusted:
                await ro.status(cluster, "Deployment", "web")
    assert untrusted.value.reason == "unavailable" and "CERTIFICATE_VERIFY_FAILED" in str(untrusted.value)
    assert "certificate-authority" in str(untrusted.value)


def test_a_missing_context_names_the_ones_there_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").write_text(kubeconfig(FakeKube(url="http://127.0.0.1:1"), context="staging"))
    (tmp_path / "b").write_text(yaml.safe_dump({"contexts": [{"name": "prod", "context": {"cluster": "x"}}],
                                                "clusters": [{"name": "x", "cluster": {"server": "http://x"}}]}))
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    with pytest.raises(KubeError) as missing:
        Cluster("production", "shop")
    assert missing.value.reason == "config"
    assert "context 'production' is not in the kubeconfig" in str(missing.value) and "prod, staging" in str(
        missing.value)
    with pytest.raises(KubeError) as userless:
        Cluster("prod", "shop")
    assert "has no user" in str(userless.value)

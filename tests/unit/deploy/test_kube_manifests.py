"""Manifests moved into the environment's namespace and pointed at the commit's image."""

from pathlib import Path

import pytest

from devops_orchestra.deploy.kube import KubeError
from devops_orchestra.deploy.kube import manifests as mf
from tests.helpers import write

K8S = {
    "k8s/00-namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {a: b}}\n",
    "k8s/01-web.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        "        - {name: sidecar, image: envoy:1.30}\n"
        "        - {name: web, image: 'registry.example:5000/shop/web:0.1.0'}\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n"),
}


def test_prepare_moves_objects_and_sets_the_image(tmp_path: Path) -> None:
    docs = mf.prepare(mf.load(write(tmp_path, K8S) / "k8s"), "shop-staging", "web", "c0ffee")
    assert [(m.kind, m.doc["metadata"].get("namespace")) for m in docs] == [
        ("Namespace", None), ("Deployment", "shop-staging"), ("Service", "shop-staging"), ("ClusterRole", None)]
    assert docs[0].name == "shop-staging" and docs[0].doc["metadata"]["labels"] == {"a": "b"}
    template = mf.workload(docs, "web").doc["spec"]["template"]
    assert [c["image"] for c in template["spec"]["containers"]] == [
        "envoy:1.30", "registry.example:5000/shop/web:c0ffee"]  # a registry's port is not a tag
    assert template["metadata"]["annotations"] == {"devops-orchestra/sha": "c0ffee"}
    assert docs[1].source.endswith("01-web.yaml:1")


def test_what_cannot_be_deployed_says_so(tmp_path: Path) -> None:
    with pytest.raises(KubeError, match="no manifests at"):
        mf.load(tmp_path / "k8s")
    write(tmp_path, {"bad/x.yaml": "kind: Deployment\nspec: {}\n"})
    with pytest.raises(KubeError, match=r"x.yaml document 1 is not a Kubernetes object"):
        mf.load(tmp_path / "bad")
    write(tmp_path, {"kustomized/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\n"
                                                      "kind: Kustomization\nresources: [web.yaml]\n"})
    with pytest.raises(KubeError, match=r"is a kustomize kustomization.*kubectl kustomize"):
        mf.load(tmp_path / "kustomized")
    docs = mf.load(write(tmp_path, K8S) / "k8s")
    with pytest.raises(KubeError, match="no Deployment or Rollout named 'api'"):
        mf.workload(docs, "api")

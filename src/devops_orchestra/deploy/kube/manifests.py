"""The manifests a deploy applies: read from the repository (the generated k8s/ or the repository's own), moved
into the environment's namespace, and pointed at the image built from the commit being deployed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from devops_orchestra.deploy.kube.cluster import KubeError
from devops_orchestra.deploy.kube.status import SHA_ANNOTATION
from devops_orchestra.models.base import Model

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass",
                  "StorageClass", "ClusterAnalysisTemplate", "IngressClass", "PersistentVolume"}


class Manifest(Model):
    """One document of a manifest file."""

    source: str  # file:document number, for errors
    doc: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.doc.get("metadata") or {}).get("name", ""))


def load(path: Path) -> list[Manifest]:
    """The documents of a YAML file, or of every *.yaml/*.yml file of a directory in name order (the generated
    k8s/ names its files by wave: 00-namespace.yaml first)."""
    if not path.exists():
        raise KubeError(f"no manifests at {path}: generate them (devops-orchestra generate --artifacts kubernetes "
                        "--write) or set the environment's `manifests:` to the repository's own", "config")
    files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
    out = []
    for file in files:
        try:
            docs = list(yaml.safe_load_all(file.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            raise KubeError(f"cannot read the manifest {file}: {exc}", "config") from exc
        for i, doc in enumerate(docs, 1):
            if doc is None:
                continue
            if isinstance(doc, dict) and doc.get("kind") == "Kustomization":
                raise KubeError(f"{file} is a kustomize kustomization, not objects to apply: render it "
                                f"(kubectl kustomize {file.parent} > manifests.yaml) and set the environment's "
                                "`manifests:` to the rendered file", "config")
            if not isinstance(doc, dict) or not doc.get("kind") or not (doc.get("metadata") or {}).get("name"):
                raise KubeError(f"{file} document {i} is not a Kubernetes object (it needs apiVersion, kind and "
                                "metadata.name)", "config")
            out.append(Manifest(source=f"{file}:{i}", doc=doc))
    if not out:
        raise KubeError(f"no Kubernetes objects in {path}", "config")
    return out


def prepare(manifests: list[Manifest], namespace: str, service: str, sha: str) -> list[Manifest]:
    """Copies moved into `namespace` (a Namespace document the others lived in is renamed to it), with the
    service's container running the image tagged with sha and its pod template annotated with sha."""
    homes = {m.doc["metadata"].get("namespace") for m in manifests if m.kind not in CLUSTER_SCOPED}
    out = []
    for m in manifests:
        doc = copy.deepcopy(m.doc)
        meta = doc["metadata"]
        if m.kind == "Namespace":
            if meta["name"] not in homes:
                continue  # another namespace: not this environment's to create
            meta["name"] = namespace
        elif m.kind not in CLUSTER_SCOPED:
            meta["namespace"] = namespace
        template = (doc.get("spec") or {}).get("template")
        if m.kind in ("Deployment", "Rollout") and m.name == service and template:
            _set_image(template, service, sha, m.source)
        out.append(Manifest(source=m.source, doc=doc))
    return out


def _set_image(template: dict[str, Any], service: str, sha: str, source: str) -> None:
    containers = (template.get("spec") or {}).get("containers") or []
    container = next((c for c in containers if c.get("name") == service), containers[0] if containers else None)
    if container is None or not container.get("image"):
        raise KubeError(f"{source}: the pod template of {service} has no container with an image", "config")
    image = container["image"].split("@")[0]
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    container["image"] = f"{repository}:{sha}"  # the CI builds and pushes REGISTRY/SERVICE:SHA (IMAGE_TAG)
    template.setdefault("metadata", {}).setdefault("annotations", {})[SHA_ANNOTATION] = sha


def workload(manifests: list[Manifest], service: str) -> Manifest:
    """The service's Rollout, else its Deployment: the object whose rollout a deploy watches."""
    for kind in ("Rollout", "Deployment"):
        found = [m for m in manifests if m.kind == kind and m.name == service]
        if found:
            return found[0]
    raise KubeError(f"the manifests have no Deployment or Rollout named {service!r}: name the workload after the "
                    "service, as the generated manifests do", "config")

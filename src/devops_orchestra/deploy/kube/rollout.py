"""Rolling a workload out and back: server-side apply, a watch until it is ready, and what kubectl does for
`rollout undo` and the Argo Rollouts plugin for `promote`, `abort` and `undo`, call for call."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any, Literal

from lightkube.core.resource import Resource
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from pydantic import Field

from devops_orchestra.deploy.kube.cluster import ROLLOUT, Cluster, KubeError
from devops_orchestra.deploy.kube.manifests import Manifest
from devops_orchestra.deploy.kube.status import SHA_ANNOTATION, WorkloadStatus, deployment_status, rollout_status
from devops_orchestra.models.base import Model

Kind = Literal["Deployment", "Rollout"]
# What `kubectl rollout undo` keeps from the Deployment rather than copying from the ReplicaSet.
KEPT_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision",
                    "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
                    "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to"}
HASH_LABEL = {"Deployment": "pod-template-hash", "Rollout": "rollouts-pod-template-hash"}
REVISION = {"Deployment": "deployment.kubernetes.io/revision", "Rollout": "rollout.argoproj.io/revision"}


class Applied(Model):
    kind: str
    name: str
    generation: int | None = None


class Revision(Model):
    """One ReplicaSet of a workload: a version it ran or runs."""

    number: int
    name: str
    hash: str
    sha: str | None = Field(default=None, description="The commit, when a deploy of ours made it.")
    replicas: int = 0
    ready: int = 0


class Undone(Model):
    kind: Kind
    name: str
    revision: int | None = Field(default=None, description="The revision whose template was restored.")
    sha: str | None = None
    skipped: bool = Field(default=False, description="The current template already was that revision's.")


def _res(kind: Kind) -> type[Resource]:
    return ROLLOUT if kind == "Rollout" else Deployment


async def apply_all(cluster: Cluster, manifests: list[Manifest], force: bool = True) -> list[Applied]:
    """Server-side apply of each manifest in order, one PATCH each."""
    applied = []
    for m in manifests:
        obj = await cluster.apply(m.doc, force=force, doing=f"applying {m.kind} {m.name} ({m.source})")
        applied.append(Applied(kind=m.kind, name=m.name, generation=obj["metadata"].get("generation")))
    return applied


def _status(kind: Kind, obj: dict[str, Any], workload_generation: int | None) -> WorkloadStatus:
    return rollout_status(obj, workload_generation) if kind == "Rollout" else deployment_status(obj)


async def status(cluster: Cluster, kind: Kind, name: str) -> WorkloadStatus:
    return _status(kind, await cluster.get(_res(kind), name), None)


async def wait(cluster: Cluster, kind: Kind, name: str, until: Callable[[WorkloadStatus], bool], within: float,
               workload_generation: int | None = None) -> WorkloadStatus:
    """Follow the workload (a GET, then one watch) until `until` holds. Degraded (aborted, past its progress
    deadline) raises at once; so does the timeout, with the phase's message and the conditions' messages."""
    res = _res(kind)
    last: WorkloadStatus | None = None

    def settled(obj: dict[str, Any]) -> bool:
        nonlocal last
        last = _status(kind, obj, workload_generation)
        if until(last):
            return True
        if last.phase == "Degraded":
            raise KubeError(f"{kind} {name} in namespace {cluster.namespace!r} is Degraded: {last.explain()}",
                            "degraded")
        return False

    async def follow() -> WorkloadStatus:
        while True:
            first = await cluster.get(res, name)
            if settled(first):
                break
            try:
                async for obj in cluster.watch(res, name, since=first["metadata"]["resourceVersion"]):
                    if settled(obj):
                        break
                break
            except KubeError as exc:
                if exc.reason != "expired":
                    raise
        assert last is not None
        return last

    try:
        async with asyncio.timeout(within):
            return await follow()
    except TimeoutError:
        said = last.explain() if last else "no answer yet"
        raise KubeError(f"{kind} {name} in namespace {cluster.namespace!r} did not get there within {within:g}s: "
                        f"{said}", "timeout") from None


async def promote(cluster: Cluster, name: str, full: bool = False) -> None:
    """`kubectl argo rollouts promote [--full]`: past the current pause (or step), or straight to the end."""
    ro = await cluster.get(ROLLOUT, name)
    spec, st = ro.get("spec", {}), ro.get("status") or {}
    doing = f"promoting Rollout {name}"
    if full:
        if st.get("currentPodHash") != st.get("stableRS"):
            await _patch_status(cluster, name, {"status": {"promoteFull": True}}, doing)
        return
    if spec.get("paused"):
        await cluster.patch(ROLLOUT, name, {"spec": {"paused": False}}, "merge", doing)
    steps = ((spec.get("strategy") or {}).get("canary") or {}).get("steps")
    if st.get("pauseConditions"):
        await _patch_status(cluster, name, {"status": {"pauseConditions": None}}, doing)
    elif steps is not None:  # running an analysis or a timed pause: skip the step
        index = min((st.get("currentStepIndex") or 0) + 1, len(steps))
        await _patch_status(cluster, name, {"status": {"pauseConditions": None, "currentStepIndex": index}}, doing)


async def abort(cluster: Cluster, name: str) -> None:
    """`kubectl argo rollouts abort`: all traffic back on the stable ReplicaSet; the new one stays, scaled down."""
    await _patch_status(cluster, name, {"status": {"abort": True}}, f"aborting Rollout {name}")


async def _patch_status(cluster: Cluster, name: str, body: dict[str, Any], doing: str) -> None:
    try:
        await cluster.patch(ROLLOUT.Status, name, body, "merge", doing)
    except KubeError as exc:
        if exc.reason != "not_found":
            raise
        # Argo Rollouts before 0.10 has no status subresource: the plugin patches the object itself
        await cluster.patch(ROLLOUT, name, body, "merge", doing)


async def history(cluster: Cluster, kind: Kind, name: str) -> list[Revision]:
    """The revisions of the workload (the ReplicaSets it controls), newest first."""
    _, revisions = await _revisions(cluster, kind, name)
    return [r for r, _ in revisions]


async def _revisions(cluster: Cluster, kind: Kind,
                     name: str) -> tuple[dict[str, Any], list[tuple[Revision, dict[str, Any]]]]:
    """The workload, and each revision with its ReplicaSet, newest first: a GET and a LIST by its selector."""
    obj = await cluster.get(_res(kind), name)
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    revisions = []
    for rs in await cluster.select(ReplicaSet, labels):
        meta = rs["metadata"]
        if not any(ref.get("controller") and ref.get("uid") == obj["metadata"]["uid"]
                   for ref in meta.get("ownerReferences") or []):
            continue  # matched by labels, but another controller's
        tmpl_meta = rs["spec"]["template"].get("metadata") or {}
        revisions.append((Revision(
            number=int((meta.get("annotations") or {}).get(REVISION[kind], 0)), name=meta["name"],
            hash=(meta.get("labels") or {}).get(HASH_LABEL[kind], ""),
            sha=(tmpl_meta.get("annotations") or {}).get(SHA_ANNOTATION), replicas=rs["spec"].get("replicas", 0),
            ready=(rs.get("status") or {}).get("readyReplicas", 0)),
            rs))
    revisions.sort(key=lambda r: -r[0].number)
    return obj, revisions


async def undo(cluster: Cluster, kind: Kind, name: str) -> Undone:
    """`kubectl rollout undo` (Deployment) or `kubectl argo rollouts undo` (Rollout): the previous revision's pod
    template back on the workload (on the Deployment a Rollout's workloadRef names), as a JSON patch."""
    obj, revisions = await _revisions(cluster, kind, name)
    if len(revisions) < 2:
        raise KubeError(f"{kind} {name} has no previous revision to go back to (revisions: "
                        f"{[r.number for r, _ in revisions] or 'none'})", "not_found")
    previous, previous_rs = revisions[1]
    template = copy.deepcopy(previous_rs["spec"]["template"])
    (template.get("metadata") or {}).get("labels", {}).pop(HASH_LABEL[kind], None)
    done = Undone(kind=kind, name=name, revision=previous.number, sha=previous.sha)
    spec = obj.get("spec") or {}
    doing = f"rolling {kind} {name} back to revision {previous.number}"
    if kind == "Deployment":
        if spec.get("paused"):
            raise KubeError(f"Deployment {name} is paused: resume it (kubectl rollout resume deployment/{name}) "
                            "before rolling back", "conflict")
        if _same_template(spec.get("template") or {}, template, kind):
            return done.model_copy(update={"skipped": True})
        current = obj["metadata"].get("annotations") or {}
        annotations = {k: v for k, v in current.items() if k in KEPT_ANNOTATIONS}
        annotations |= {k: v for k, v in (previous_rs["metadata"].get("annotations") or {}).items()
                        if k not in KEPT_ANNOTATIONS}
        await cluster.patch(Deployment, name, [{"op": "replace", "path": "/spec/template", "value": template},
                                               {"op": "replace", "path": "/metadata/annotations",
                                                "value": annotations}], "json", doing)
        return done
    ref = spec.get("workloadRef")
    if ref is None and _same_template(spec.get("template") or {}, template, kind):
        return done.model_copy(update={"skipped": True})
    if ref is not None and ref.get("kind") != "Deployment":
        raise KubeError(f"Rollout {name} references a {ref.get('kind')}; only a Deployment workloadRef can be rolled "
                        "back here", "config")
    body = [{"op": "replace", "path": "/spec/template", "value": template}]
    await cluster.patch(Deployment if ref else ROLLOUT, ref["name"] if ref else name, body, "json", doing)
    return done


def _same_template(a: dict[str, Any], b: dict[str, Any], kind: Kind) -> bool:
    a, b = copy.deepcopy(a), copy.deepcopy(b)
    for t in (a, b):
        (t.get("metadata") or {}).get("labels", {}).pop(HASH_LABEL[kind], None)
    return a == b

"""How a Deployment or an Argo Rollout stands, read from the object as the API server returns it.

The rules are those of `kubectl rollout status` (Deployment) and of Argo Rollouts' GetRolloutPhase (Rollout:
the controller's status.phase once it has observed the spec, and the referenced workload when there is one).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from devops_orchestra.models.base import Model

Phase = Literal["Progressing", "Paused", "Healthy", "Degraded"]
SHA_ANNOTATION = "devops-orchestra/sha"  # on the pod template: which commit a revision runs
WORKLOAD_GENERATION = "rollout.argoproj.io/workload-generation"


class Condition(Model):
    type: str
    status: str
    reason: str = ""
    message: str = ""


class WorkloadStatus(Model):
    """A Deployment's or Rollout's rollout, as `kubectl rollout status` or `kubectl argo rollouts status` says."""

    kind: Literal["Deployment", "Rollout"]
    name: str
    namespace: str
    phase: Phase
    message: str = Field(description="Why it is in this phase, for a person.")
    revision: int | None = Field(default=None, description="The revision of the current template.")
    replicas: int = 0
    updated: int = 0
    ready: int = 0
    available: int = 0
    step: int | None = Field(default=None, description="Rollout canary: the index of the current step.")
    steps: int | None = Field(default=None, description="Rollout canary: how many steps there are.")
    weight: int | None = Field(default=None, description="Rollout canary: percent of traffic on the new version.")
    current_hash: str | None = Field(default=None, description="Rollout: the pod template hash being rolled out.")
    stable_hash: str | None = Field(default=None, description="Rollout: the hash of the stable ReplicaSet.")
    aborted: bool = False
    conditions: list[Condition] = Field(default_factory=list)

    def explain(self) -> str:
        """The message and the conditions' messages, for a timeout or a failure."""
        notes = [f"{c.type}={c.status} ({c.reason}: {c.message})" for c in self.conditions if c.message]
        return f"{self.phase}: {self.message}" + (f"; conditions: {'; '.join(notes)}" if notes else "")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _conditions(status: dict[str, Any]) -> list[Condition]:
    return [Condition(type=c.get("type", ""), status=c.get("status", ""), reason=c.get("reason") or "",
                      message=c.get("message") or "") for c in status.get("conditions") or []]


def deployment_status(obj: dict[str, Any]) -> WorkloadStatus:
    """`kubectl rollout status deployment/NAME`'s verdict."""
    meta, spec, status = obj["metadata"], obj.get("spec", {}), obj.get("status") or {}
    name = meta["name"]
    desired = spec.get("replicas", 1)
    counts = {"replicas": status.get("replicas", 0), "updated": status.get("updatedReplicas", 0),
              "ready": status.get("readyReplicas", 0), "available": status.get("availableReplicas", 0)}
    conditions = _conditions(status)
    progressing = next((c for c in conditions if c.type == "Progressing"), None)
    phase: Phase = "Progressing"
    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        message = "waiting for the deployment spec update to be observed"
    elif progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        phase, message = "Degraded", f"deployment {name!r} exceeded its progress deadline"
    elif spec.get("paused"):
        phase, message = "Paused", "the deployment is paused"
    elif counts["updated"] < desired:
        message = f"{counts['updated']} out of {desired} new replicas have been updated"
    elif counts["replicas"] > counts["updated"]:
        message = f"{counts['replicas'] - counts['updated']} old replicas are pending termination"
    elif counts["available"] < counts["updated"]:
        message = f"{counts['available']} of {counts['updated']} updated replicas are available"
    else:
        phase, message = "Healthy", f"deployment {name!r} successfully rolled out"
    return WorkloadStatus(kind="Deployment", name=name, namespace=meta.get("namespace", ""), phase=phase,
                          message=message, conditions=conditions,
                          revision=_int((meta.get("annotations") or {}).get("deployment.kubernetes.io/revision")),
                          **counts)


def rollout_status(obj: dict[str, Any], workload_generation: int | None = None) -> WorkloadStatus:
    """Argo Rollouts' phase of a Rollout. workload_generation: the generation of the Deployment it references, as
    our apply left it; until the controller has seen that one, the Rollout is still Progressing."""
    meta, spec, status = obj["metadata"], obj.get("spec", {}), obj.get("status") or {}
    annotations = meta.get("annotations") or {}
    canary = (spec.get("strategy") or {}).get("canary")
    steps = len(canary.get("steps") or []) if canary else None
    weights = (status.get("canary") or {}).get("weights") or {}
    phase, message = _rollout_phase(meta, spec, status, workload_generation)
    return WorkloadStatus(
        kind="Rollout", name=meta["name"], namespace=meta.get("namespace", ""), phase=phase, message=message,
        revision=_int(annotations.get("rollout.argoproj.io/revision")), replicas=status.get("replicas", 0),
        updated=status.get("updatedReplicas", 0), ready=status.get("readyReplicas", 0),
        available=status.get("availableReplicas", 0), step=status.get("currentStepIndex"), steps=steps,
        weight=(weights.get("canary") or {}).get("weight"), current_hash=status.get("currentPodHash"),
        stable_hash=status.get("stableRS"), aborted=bool(status.get("abort")), conditions=_conditions(status))


def _rollout_phase(meta: dict[str, Any], spec: dict[str, Any], status: dict[str, Any],
                   workload_generation: int | None) -> tuple[Phase, str]:
    observed = _int(status.get("observedGeneration"))
    if observed is not None and observed != meta.get("generation"):
        return "Progressing", "waiting for the rollout spec update to be observed"
    if status.get("controllerPause") and not status.get("pauseConditions"):
        return "Progressing", "waiting for the rollout to unpause"
    if workload_generation is not None and (
            _int((meta.get("annotations") or {}).get(WORKLOAD_GENERATION)) != workload_generation
            or _int(status.get("workloadObservedGeneration")) != workload_generation):
        return "Progressing", "waiting for the update of the referenced workload to be observed"
    if status.get("phase") in ("Progressing", "Paused", "Healthy", "Degraded"):  # Argo Rollouts 1.0 and later
        return status["phase"], status.get("message") or ""
    return _calculated_phase(spec, status)


def _calculated_phase(spec: dict[str, Any], status: dict[str, Any]) -> tuple[Phase, str]:
    """Before Argo Rollouts 1.0 the client worked the phase out itself."""
    for cond in status.get("conditions") or []:
        if cond.get("type") == "InvalidSpec":
            return "Degraded", f"InvalidSpec: {cond.get('message', '')}"
        if cond.get("reason") in ("RolloutAborted", "ProgressDeadlineExceeded"):
            return "Degraded", f"{cond['reason']}: {cond.get('message', '')}"
    if spec.get("paused"):
        return "Paused", "manually paused"
    if status.get("pauseConditions"):
        return "Paused", str(status["pauseConditions"][0].get("reason", ""))
    if status.get("updatedReplicas", 0) < spec.get("replicas", 1):
        return "Progressing", "more replicas need to be updated"
    if status.get("availableReplicas", 0) < status.get("updatedReplicas", 0):
        return "Progressing", "updated replicas are still becoming available"
    current, stable = status.get("currentPodHash"), status.get("stableRS")
    if (spec.get("strategy") or {}).get("blueGreen") is not None:
        if (status.get("blueGreen") or {}).get("activeSelector") != current:
            return "Progressing", "active service cutover pending"
    elif status.get("replicas", 0) > status.get("updatedReplicas", 0):
        return "Progressing", "old replicas are pending termination"
    if not stable or stable != current:
        return "Progressing", "waiting for all steps to complete"
    return "Healthy", ""

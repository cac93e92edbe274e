"""The kubernetes target: a namespace of a cluster (the environment's kubeconfig `context` and `namespace`) where
the service's manifests (the environment's `manifests:`, k8s/ by default) are applied server-side with the
commit's image, and rolled out by the cluster itself:

- rolling: a Deployment. prepare() is the whole rolling update, watched until every pod is updated and
  available; weights do not apply; abort() is `kubectl rollout undo` (the previous ReplicaSet's template back).
- canary: an Argo Rollouts Rollout whose steps become the plan's (setWeight, then an indefinite pause each):
  prepare() stops at the first weight, set_weight() promotes step by step, abort() is Argo's abort (all traffic
  on the stable ReplicaSet; the canary kept, scaled down).
- blue-green: a Rollout with autoPromotionEnabled false: prepare() has the preview up and paused, set_weight(100)
  and promote() switch the active service, abort() aborts.

The SLO watcher measures the new version's pods (their names start with its ReplicaSet's) in the environment's
`prometheus`. What this target applied is kept in state_dir (kubernetes.json), for status() and stop().
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from devops_orchestra.deploy.kube import manifests, rollout
from devops_orchestra.deploy.kube.cluster import Cluster, KubeError
from devops_orchestra.deploy.kube.status import WorkloadStatus
from devops_orchestra.deploy.targets.base import DeployError, Instance, Target, TargetStatus
from devops_orchestra.models.base import Model
from devops_orchestra.models.deploy import DeployPlan, SloName, Strategy

WORKLOAD_OF: dict[Strategy, tuple[str, str | None]] = {
    "canary": ("Rollout", "canary"), "blue-green": ("Rollout", "blueGreen"), "rolling": ("Deployment", None)}


class _Applied(Model):
    api_version: str
    kind: str
    name: str


class _State(Model):
    kind: Literal["Deployment", "Rollout"]
    strategy: Strategy = Field(description="How the manifests roll the workload out (not always the plan's).")
    namespace: str
    applied: list[_Applied]
    candidate: str = ""  # the ReplicaSet of the version being rolled out: its pods' names start with it


class KubernetesTarget(Target):
    kind = "kubernetes"
    rollout_timeout_s: ClassVar[float] = 600.0  # how long a rollout may take to reach a step (kubectl: none)

    @property
    def _state_file(self) -> Path:
        return self.state_dir / "kubernetes.json"

    def _read(self) -> _State | None:
        if not self._state_file.is_file():
            return None
        return _State.model_validate_json(self._state_file.read_text(encoding="utf-8"))

    def _write(self, state: _State) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._state_file.write_text(state.model_dump_json(), encoding="utf-8")

    def _cluster(self) -> Cluster:
        return Cluster(self.environment.context, self.environment.namespace)

    async def _wait(self, cluster: Cluster, kind: Literal["Deployment", "Rollout"],
                    until: Callable[[WorkloadStatus], bool], workload_generation: int | None = None) -> WorkloadStatus:
        return await rollout.wait(cluster, kind, self.service.name, until, self.rollout_timeout_s,
                                  workload_generation)

    # -- the interface ------------------------------------------------------------------------------------------

    async def prepare(self, plan: DeployPlan) -> None:
        if plan.slos and not self.environment.prometheus:
            raise DeployError(f"environment {self.environment_name!r} (target kubernetes) has no `prometheus:`: set "
                              "it to the URL of the Prometheus that scrapes the cluster, so that the SLOs can be "
                              "watched; nothing was applied")
        loaded = manifests.load(Path(plan.source) / self.environment.manifests)  # before any call: errors first
        async with self._cluster() as cluster:
            docs = manifests.prepare(loaded, cluster.namespace, self.service.name, plan.sha)
            workload = manifests.workload(docs, self.service.name)
            strategy = self._fit(workload, plan)
            applied = await rollout.apply_all(cluster, docs)
            state = _State(kind="Rollout" if workload.kind == "Rollout" else "Deployment", strategy=strategy,
                           namespace=cluster.namespace,
                           applied=[_Applied(api_version=m.doc["apiVersion"], kind=m.kind, name=m.name)
                                    for m in docs if m.kind != "Namespace"])
            self._write(state)  # stop() finds what was applied even if the rollout fails
            if state.kind == "Deployment":
                await self._wait(cluster, "Deployment", lambda s: s.phase == "Healthy")
                revisions = await rollout.history(cluster, "Deployment", self.service.name)
                state.candidate = revisions[0].name if revisions else ""
            else:
                ref = (workload.doc["spec"].get("workloadRef") or {}).get("name")
                generation = next((a.generation for a in applied if a.kind == "Deployment" and a.name == ref), None)
                status = await self._wait(cluster, "Rollout", lambda s: s.phase in ("Paused", "Healthy"), generation)
                state.candidate = f"{self.service.name}-{status.current_hash}"
            self._write(state)

    def _fit(self, workload: manifests.Manifest, plan: DeployPlan) -> Strategy:
        """How the manifests roll the workload out, which must be the plan's strategy, unless the plan switches all
        traffic at once (a rollback does), which every workload can; canary steps become the plan's."""
        strategy = (workload.doc.get("spec") or {}).get("strategy") or {}
        have = next((s for s, (kind, key) in WORKLOAD_OF.items()
                     if workload.kind == kind and (key is None or key in strategy)), None)
        what = workload.kind if workload.kind == "Deployment" else f"Rollout ({', '.join(strategy) or 'no strategy'})"
        all_at_once = [s.weight for s in plan.steps] == [100]  # a rollback's plan: any workload can do that
        if have is None or (have != plan.strategy and not all_at_once):
            kind, key = WORKLOAD_OF[plan.strategy]
            raise DeployError(f"{workload.source}: {self.service.name} is a {what}, but the deploy is {plan.strategy} "
                              f"(which needs {'a Deployment' if kind == 'Deployment' else f'a Rollout with {key}'}): "
                              f"regenerate the manifests with deployment.strategy: {plan.strategy} (`devops-"
                              "orchestra generate --artifacts kubernetes --write --overwrite`), or deploy with the "
                              "strategy they have")
        if have == "canary":  # each weight held (an indefinite pause) until our watcher promotes it
            held: list[dict[str, Any]] = []
            for step in plan.steps:
                held += [{"setWeight": step.weight}, {"pause": {}}]
            strategy["canary"]["steps"] = held
        if have == "blue-green":
            strategy["blueGreen"]["autoPromotionEnabled"] = False
        return have

    async def set_weight(self, plan: DeployPlan, weight: int) -> None:
        state = self._read()
        if state is None or state.kind == "Deployment":
            return  # a rolling update is all or nothing: prepare() already replaced every pod
        async with self._cluster() as cluster:
            status = await rollout.status(cluster, "Rollout", self.service.name)
            if state.strategy == "blue-green":
                if weight >= 100 and status.phase != "Healthy":
                    await rollout.promote(cluster, self.service.name)
                    await self._wait(cluster, "Rollout", lambda s: s.phase == "Healthy")
                return
            while status.phase != "Healthy" and (status.weight or 0) < weight:
                await rollout.promote(cluster, self.service.name)
                status = await self._wait(cluster, "Rollout", _past_step(status.step or 0))

    async def promote(self, plan: DeployPlan) -> None:
        state = self._read()
        if state is None or state.kind == "Deployment":
            return
        async with self._cluster() as cluster:
            status = await rollout.status(cluster, "Rollout", self.service.name)
            if status.phase != "Healthy":
                await rollout.promote(cluster, self.service.name, full=True)
                await self._wait(cluster, "Rollout", lambda s: s.phase == "Healthy")

    async def abort(self, plan: DeployPlan) -> None:
        state = self._read()
        if state is None:
            return
        async with self._cluster() as cluster:
            if state.kind == "Rollout":
                now = await rollout.status(cluster, "Rollout", self.service.name)
                if now.current_hash != now.stable_hash:  # else nothing is rolling out: stable serves everything
                    await rollout.abort(cluster, self.service.name)
                    await self._wait(cluster, "Rollout", lambda s: s.aborted and s.phase == "Degraded")
                return
            revisions = await rollout.history(cluster, "Deployment", self.service.name)
            if not revisions or revisions[0].sha != plan.sha:
                return  # already rolled back (abort is asked again after a failure): undoing again would flip back
            await rollout.undo(cluster, "Deployment", self.service.name)
            await self._wait(cluster, "Deployment", lambda s: s.phase == "Healthy")

    async def status(self) -> TargetStatus:
        state = self._read()
        kinds: list[Literal["Deployment", "Rollout"]] = [state.kind] if state else ["Rollout", "Deployment"]
        async with self._cluster() as cluster:
            for kind in kinds:
                try:
                    return await self._status(cluster, kind)
                except KubeError as exc:
                    if exc.reason != "not_found":
                        raise
        return TargetStatus()

    async def _status(self, cluster: Cluster, kind: Literal["Deployment", "Rollout"]) -> TargetStatus:
        now = await rollout.status(cluster, kind, self.service.name)
        revisions = await rollout.history(cluster, kind, self.service.name)
        instances = [Instance(name=r.name, version=r.sha or r.hash, healthy=r.ready >= r.replicas)
                     for r in revisions if r.replicas]
        if kind == "Deployment":
            shas = [r.sha for r in revisions]
            if now.phase == "Healthy" or len(shas) < 2:
                return TargetStatus(stable=shas[0] if shas and now.phase == "Healthy" else None,
                                    candidate=None if now.phase == "Healthy" else (shas[0] if shas else None),
                                    weight=0, instances=instances)
            return TargetStatus(stable=shas[1], candidate=shas[0], weight=100, instances=instances)
        by_hash = {r.hash: r.sha for r in revisions}
        stable = by_hash.get(now.stable_hash or "")
        current = by_hash.get(now.current_hash or "")
        return TargetStatus(stable=stable, candidate=current if current != stable else None,
                            weight=0 if now.aborted or current == stable else now.weight or 0, instances=instances)

    async def heal(self) -> list[str]:
        return []  # the cluster's controllers replace pods that die

    def queries(self, plan: DeployPlan) -> dict[SloName, str]:
        state = self._read()
        namespace = state.namespace if state else self.environment.namespace or "default"
        pods = f'namespace="{namespace}",pod=~"{state.candidate if state else self.service.name}-.*"'
        window = f"{max(int(plan.interval_s), 60)}s"  # a window of several scrapes (1 m is Prometheus' default)
        return {
            "success_rate": f'100 * (1 - sum(rate(http_requests_total{{{pods},status=~"5.."}}[{window}])) / '
                            f"sum(rate(http_requests_total{{{pods}}}[{window}])))",
            "p99_latency_ms": f"1000 * histogram_quantile(0.99, sum by (le) "
                              f"(rate(http_request_duration_seconds_bucket{{{pods}}}[{window}])))",
            "cpu_percent": f'100 * max(rate(container_cpu_usage_seconds_total{{{pods},container="{self.service.name}"}}'
                           f"[{window}]))",
        }

    async def prometheus_url(self) -> str:
        if not self.environment.prometheus:
            raise DeployError(f"environment {self.environment_name!r} has no `prometheus:` URL to measure the SLOs")
        return self.environment.prometheus

    async def stop(self) -> None:
        state = self._read()
        if state is None:
            return
        async with self._cluster() as cluster:
            for obj in reversed(state.applied):
                doc: dict[str, Any] = {"apiVersion": obj.api_version, "kind": obj.kind}
                await cluster.delete(await cluster.resource_for(doc), obj.name)
        self._state_file.unlink()


def _past_step(step: int) -> Callable[[WorkloadStatus], bool]:
    """Paused at a later step than `step`, or done."""
    return lambda s: s.phase == "Healthy" or (s.phase == "Paused" and (s.step or 0) > step)

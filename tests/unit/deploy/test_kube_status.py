"""A Deployment's and an Argo Rollout's phase, read from objects shaped as the API server returns them."""

from typing import Any

from devops_orchestra.deploy.kube.status import deployment_status, rollout_status


def deployment(generation: int = 2, observed: int = 2, replicas: int = 2, updated: int = 2, available: int = 2,
               total: int = 2, progressing: str = "NewReplicaSetAvailable") -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "shop", "generation": generation,
                         "annotations": {"deployment.kubernetes.io/revision": "4"}},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "replicas": total, "updatedReplicas": updated,
                       "availableReplicas": available, "readyReplicas": available,
                       "conditions": [{"type": "Progressing", "status": "True", "reason": progressing,
                                       "message": 'ReplicaSet "web-1" is progressing.'}]}}


def test_deployment_phases_follow_kubectl_rollout_status() -> None:
    assert deployment_status(deployment()).phase == "Healthy"
    assert deployment_status(deployment()).revision == 4
    cases = {
        "waiting for the deployment spec update to be observed": deployment(generation=3),
        "1 out of 2 new replicas have been updated": deployment(updated=1),
        "1 old replicas are pending termination": deployment(total=3),
        "1 of 2 updated replicas are available": deployment(available=1),
    }
    for message, obj in cases.items():
        status = deployment_status(obj)
        assert (status.phase, status.message) == ("Progressing", message)
    stuck = deployment_status(deployment(available=0, progressing="ProgressDeadlineExceeded"))
    assert stuck.phase == "Degraded" and "progress deadline" in stuck.message
    assert 'ReplicaSet "web-1" is progressing.' in stuck.explain()


def rollout(status: dict[str, Any], generation: int = 5, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta = {"name": "web", "namespace": "shop", "generation": generation, "annotations": annotations or {}}
    return {"metadata": meta,
            "spec": {"replicas": 2, "strategy": {"canary": {"steps": [{"setWeight": 10}, {"pause": {}}]}}},
            "status": {"observedGeneration": "5", "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
                       **status}}


def test_rollout_phase_is_the_controllers_once_it_observed_the_spec() -> None:
    paused = rollout_status(rollout({"phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": 1,
                                     "canary": {"weights": {"canary": {"weight": 10}}}}))
    assert (paused.phase, paused.message, paused.step, paused.steps, paused.weight) == (
        "Paused", "CanaryPauseStep", 1, 2, 10)
    assert rollout_status(rollout({"phase": "Healthy"}, generation=6)).phase == "Progressing"  # not observed yet
    unpausing = rollout_status(rollout({"phase": "Paused", "controllerPause": True}))
    assert unpausing.message == "waiting for the rollout to unpause"
    # a workloadRef Rollout has not seen our Deployment update until it carries its generation
    stale = rollout({"phase": "Healthy", "workloadObservedGeneration": "3"},
                    annotations={"rollout.argoproj.io/workload-generation": "3"})
    assert rollout_status(stale, workload_generation=4).phase == "Progressing"
    assert rollout_status(stale, workload_generation=3).phase == "Healthy"


def test_rollout_phase_before_argo_rollouts_1_0_is_worked_out_here() -> None:
    aborted = rollout({"abort": True, "conditions": [{"type": "Progressing", "status": "False",
                                                      "reason": "RolloutAborted", "message": "metric failed"}]})
    status = rollout_status(aborted)
    assert (status.phase, status.aborted) == ("Degraded", True) and "metric failed" in status.message
    assert rollout_status(rollout({"pauseConditions": [{"reason": "CanaryPauseStep"}]})).phase == "Paused"
    assert rollout_status(rollout({"currentPodHash": "b", "stableRS": "a"})).message == \
        "waiting for all steps to complete"
    assert rollout_status(rollout({"currentPodHash": "b", "stableRS": "b"})).phase == "Healthy"

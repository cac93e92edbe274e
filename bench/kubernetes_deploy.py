"""Benchmark: the kubernetes deploy target against the local Kubernetes API server of tests/fakes/kube_api.py.

    .venv/bin/python bench/kubernetes_deploy.py [--rounds 5]

For the pipeline agent's generated manifests of one service: the time of a server-side apply plus the rollout
watch until ready (rolling: a Deployment; the fake's pods are ready 50 ms after their ReplicaSet appears), and
the API calls one deploy makes, as the fake API server counted them: a rolling deploy, and a canary deploy with
two steps (10%, 50%) through the Target interface the strategies drive (prepare, set_weight, promote, status).
The fake answers at once: against a real cluster the time is the pods' start-up, not ours.
Writes bench/results/kubernetes_deploy.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]  # and tests/, for the fake API server

from summary import write_summary  # noqa: E402  # bench/, the script's own directory

from devops_orchestra.deploy.kube import Cluster  # noqa: E402
from devops_orchestra.deploy.kube import manifests as mf  # noqa: E402
from devops_orchestra.deploy.kube import rollout as ro  # noqa: E402
from devops_orchestra.deploy.targets.kubernetes import KubernetesTarget  # noqa: E402
from devops_orchestra.models.deploy import DeployPlan, Slo, Step  # noqa: E402
from devops_orchestra.pipeline.config import parse  # noqa: E402
from tests.fakes.kube_api import FakeKube, fake_kube, generated_manifests, kubeconfig  # noqa: E402


async def rolling(fake: FakeKube, k8s: Path, sha: str) -> tuple[float, int]:
    """One apply + watch of the rolling manifests: seconds, API calls."""
    calls, start = len(fake.calls), time.monotonic()
    async with Cluster("bench", "default") as cluster:
        await ro.apply_all(cluster, mf.prepare(mf.load(k8s), "default", "web", sha))
        await ro.wait(cluster, "Deployment", "web", lambda s: s.phase == "Healthy", 30)
    return time.monotonic() - start, len(fake.calls) - calls


async def canary(fake: FakeKube, root: Path, state: Path, sha: str, stable: str | None) -> tuple[float, int]:
    """One canary deploy through the target, as rollout.execute drives it (without the SLO watch): seconds, calls."""
    config = parse("deployment:\n  services: [{name: web}]\n  environments:\n    bench: {target: kubernetes, "
                   "context: bench, namespace: default, prometheus: 'http://127.0.0.1:9'}\n")
    target = KubernetesTarget(config.deployment.services[0], "bench", config.deployment.environments["bench"], state)
    steps = [Step(weight=10, pause_s=0), Step(weight=50, pause_s=0)] if stable else [Step(weight=100)]
    plan = DeployPlan(deployment_id="bench", service="web", environment="bench", target="kubernetes", ref=sha,
                      sha=sha, source=str(root), strategy="canary", steps=steps,
                      slos=[Slo(name="success_rate", threshold=95)], interval_s=1, failure_limit=0,
                      stable_sha=stable, started_by="bench")
    calls, start = len(fake.calls), time.monotonic()
    await target.status()  # what planning asks
    await target.prepare(plan)
    for step in steps:
        await target.set_weight(plan, step.weight)
    await target.promote(plan)
    return time.monotonic() - start, len(fake.calls) - calls


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, fake_kube() as fake:
        home = Path(tmp)
        (home / "kubeconfig").write_text(kubeconfig(fake, context="bench"))
        os.environ["KUBECONFIG"] = str(home / "kubeconfig")
        k8s = generated_manifests(home / "rolling", "rolling")
        runs = [await rolling(fake, k8s, f"{i:040x}") for i in range(1, rounds + 1)]
        objects = len(mf.load(k8s))
        generated_manifests(home / "canary", "canary")
        first = await canary(fake, home / "canary", home / "state", "a" * 40, None)
        second = await canary(fake, home / "canary", home / "state", "b" * 40, "a" * 40)
    times = sorted(t for t, _ in runs)
    write_summary("kubernetes_deploy", {
        "rounds": rounds,
        "rolling apply+watch median ms": round(statistics.median(times) * 1000),
        "rolling apply+watch max ms": round(times[-1] * 1000),
        "rolling deploy API calls": runs[-1][1],
        "rolling deploy objects applied": objects,
        "canary first deploy API calls": first[1],
        "canary 2-step deploy API calls": second[1],
        "canary 2-step deploy ms": round(second[0] * 1000),
    })


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))

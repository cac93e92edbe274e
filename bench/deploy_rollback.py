"""Deploy and roll back on the local target with real processes (the example app, haproxy, Prometheus) under a
steady load of 50 requests a second from a process of its own:

- canary rollback: the bad version (3 of every 10 requests fail) takes 20% of the traffic; the time from its
  first failed request (the earliest a breach can be measured) to all traffic back on the stable version, in
  evaluation intervals (target: at most 2), and the requests that failed after the rollback (target: 0);
- blue-green: a switch to a new version, then a rollback to the warm old one, in 30 s of load: failed
  requests (target: 0).

Usage: python bench/deploy_rollback.py   (needs haproxy and prometheus: make setup)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "bench"), str(REPO / "examples" / "webapp")]

import repo as webapp  # noqa: E402
from summary import write_summary  # noqa: E402

from devops_orchestra.core.store import Store  # noqa: E402
from devops_orchestra.deploy import rollout  # noqa: E402
from devops_orchestra.models.deploy import DeploymentRecord, Strategy  # noqa: E402
from devops_orchestra.pipeline.config import OrchestraConfig, parse  # noqa: E402

INTERVAL_S = 1.0
ROUNDS = 3
RATE = 50
CONFIG = """\
deployment:
  strategy: canary
  services: [{{name: web, runtime: local, start: {python} app.py, health: /health}}]
  environments:
    bench: {{target: local, listen: "127.0.0.1:{port}", instances: 2, steps: [{{weight: 20, pause: 8s}}]}}
rollback: {{interval: {interval}s, failure_limit: 0, threshold: {{errors: 5, duration: 5s}}}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def deploy(config: OrchestraConfig, root: Path, sha: str, strategy: Strategy | None = None
                 ) -> DeploymentRecord:
    store = Store()
    plan = await rollout.plan(config, root, store, service="web", environment="bench", ref=sha, strategy=strategy,
                              started_by="bench")
    return await rollout.execute(plan, config, store)


def load(url: str, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(REPO / "examples" / "webapp" / "load.py"), url, "--rate",
                             str(RATE), "--seconds", str(seconds), "--out", str(out)])


def answers(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        os.environ["DEVOPS_ORCHESTRA_DEPLOYS"] = f"{tmp}/deploys"
        os.environ["DEVOPS_ORCHESTRA_STORE"] = f"{tmp}/runs.sqlite3"
        port = free_port()
        text = CONFIG.format(python=sys.executable, port=port, interval=INTERVAL_S)
        config, root = parse(text), Path(tmp) / "web"
        shas = webapp.build(root, text)
        url = f"http://127.0.0.1:{port}/"
        try:
            assert (await deploy(config, root, shas["good"])).state == "succeeded"
            rounds = []  # the breach-to-stable time depends on where the breach falls in the interval: 3 tries
            for n in range(ROUNDS):
                out = Path(tmp) / f"canary-{n}.jsonl"
                loader = load(url, out, 8)
                await asyncio.sleep(1)
                canary = await deploy(config, root, shas["bad"])
                await asyncio.to_thread(loader.wait)
                seen = answers(out)
                assert canary.state == "rolled_back" and canary.restored_at and canary.breach, canary.timeline
                restored = canary.restored_at.timestamp()
                first_failure = min(a["t"] for a in seen if a["status"] == "500")
                after = [a for a in seen if a["t"] > restored]
                rounds.append((restored - first_failure, canary, seen, after))

            loader = load(url, Path(tmp) / "blue-green.jsonl", 30)
            await asyncio.sleep(3)
            switched = await deploy(config, root, shas["good2"], "blue-green")
            await asyncio.sleep(3)
            back = await rollout.rollback(config, root, Store(), service="web", environment="bench",
                                          started_by="bench")
            await asyncio.to_thread(loader.wait)
            steady = answers(Path(tmp) / "blue-green.jsonl")
        finally:
            await rollout.undeploy(config, service="web", environment="bench")
    times = [round(r[0], 2) for r in rounds]
    write_summary("deploy_rollback", {
        "evaluation interval (s)": INTERVAL_S,
        "canary rounds": ROUNDS,
        "canary: breach (first failed request) to all traffic on stable, each round (s)": times,
        "canary: the worst in evaluation intervals (target <= 2)": round(max(times) / INTERVAL_S, 2),
        "canary: breached SLO (last round)": rounds[-1][1].breach.message,
        "canary: requests failed by the bad version before the rollback, each round": [
            sum(a["status"] == "500" for a in r[2]) for r in rounds],
        "canary: requests failed after the rollback, all rounds (target 0)": sum(
            a["status"] != "200" for r in rounds for a in r[3]),
        "canary: requests after the rollback answered by the bad version": sum(
            a["version"] == shas["bad"][:12] for r in rounds for a in r[3]),
        "canary: connection errors, all rounds": sum(not a["status"].isdigit() for r in rounds for a in r[2]),
        "blue-green: switch and rollback outcome": f"{switched.state}, {back.state}",
        "blue-green: requests sent in 30 s": len(steady),
        "blue-green: failed requests during switch and rollback (target 0)": sum(a["status"] != "200" for a in steady),
        "blue-green: versions seen in order": " -> ".join(
            v for v, _ in itertools.groupby(a["version"] for a in sorted(steady, key=lambda a: a["t"]))),
    })


if __name__ == "__main__":
    asyncio.run(main())

"""Benchmark: webhook intake latency at a steady 50 deliveries a second (the target: p95 under 100 ms).

    .venv/bin/python bench/webhook_intake.py [--rate 50] [--seconds 10]

A real `webhooks serve` process is sent signed `push` deliveries, each a new commit (so each creates a run and
publishes its code_push), at a fixed rate whatever the answers' pace (open loop: a slow answer does not slow the
sender). Measured from the request's start to its answer, on two buses:
- memory:// with the embedded worker running the I/O-bound test stage (tests/integration/slow_stage.py,
  0.2 s a run): one machine, the work done beside the intake;
- redis:// (a real redis-server) with no worker: the work only queued, as with workers on other machines.
Writes bench/results/webhook_intake.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import git
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from orchestra import start_redis  # noqa: E402  # bench/orchestra.py, beside this script
from summary import write_summary  # noqa: E402  # bench/, the script's own directory

from devops_orchestra.gitops.signature import sign  # noqa: E402

SECRET = "bench-webhook-secret"
WARM = 20  # deliveries before the measured ones


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(argv: list[str], env: dict[str, str], ready: str, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            httpx.get(ready, timeout=1)
            return process
        except httpx.TransportError:
            if process.poll() is not None:
                raise SystemExit(log.read_text()) from None
            time.sleep(0.1)
    raise SystemExit(f"{argv[0]} did not start: {log.read_text()}")


def delivery(n: int, sha: str) -> tuple[bytes, dict[str, str]]:
    """A push of sha to repository bench/rN: a repository per delivery, so each is a run of its own."""
    body = json.dumps({"ref": "refs/heads/main", "after": sha, "before": "0" * 40, "pusher": {"name": "bench"},
                       "repository": {"full_name": f"bench/r{n}",
                                      "clone_url": f"https://github.invalid/bench/r{n}.git"}}).encode()
    return body, {"X-GitHub-Event": "push", "X-GitHub-Delivery": f"bench-{n}", "Content-Type": "application/json",
                  "X-Hub-Signature-256": sign(SECRET, body)}


async def send(url: str, sha: str, rate: float, seconds: float) -> tuple[list[float], list[int]]:
    """Deliveries at `rate` a second for `seconds`; each one's latency (ms) and status."""
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: list[int] = []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:
        async def one(n: int) -> None:
            body, headers = delivery(n, sha)
            began = time.perf_counter()
            answer = await client.post(url, content=body, headers=headers)
            latencies.append((time.perf_counter() - began) * 1000)
            statuses.append(answer.status_code)

        for n in range(WARM):  # warm the connections and the server's first imports; not counted
            await one(total + n)
        latencies.clear()
        statuses.clear()
        began = time.perf_counter()
        tasks = []
        for n in range(total):
            await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return latencies, statuses


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)


def measure(name: str, bus: str, extra: list[str], rate: float, seconds: float, work: Path) -> dict[str, Any]:
    # Every bench/rN is one local repository with one commit: the worker's checkouts are real and cached.
    origin = work / "origin"
    if not origin.exists():
        repo = git.Repo.init(origin, initial_branch="main")
        (origin / "app.py").write_text("print('hi')\n")
        repo.index.add(["app.py"])
        repo.index.commit("one", author=git.Actor("b", "b@example.com"))
    sha = git.Repo(origin).head.commit.hexsha
    mapped = [f"--repo-map=bench/r{n}={origin}" for n in range(int(rate * seconds) + WARM)]
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
           "DEVOPS_ORCHESTRA_WEBHOOK_SECRET": SECRET, "DEVOPS_ORCHESTRA_TEST_LOG": str(work / f"{name}.stage.log"),
           "DEVOPS_ORCHESTRA_TEST_SLOW": "0.2", "DEVOPS_ORCHESTRA_STORE": str(work / "runs.sqlite3"),
           "DEVOPS_ORCHESTRA_WORKSPACES": str(work / "workspaces")}
    argv = [sys.executable, "-m", "devops_orchestra", "webhooks", "serve", "--port", str(port), "--bus", bus,
            "--load", "tests.integration.slow_stage", "--stages", "slow", *mapped, *extra]
    server = start(argv, env, f"http://127.0.0.1:{port}/healthz", work / f"{name}.log")
    try:
        latencies, statuses = asyncio.run(send(f"http://127.0.0.1:{port}/github", sha, rate, seconds))
    finally:
        server.terminate()
        server.wait(10)
    return {f"{name} deliveries": len(latencies),
            f"{name} accepted (202)": statuses.count(202),
            f"{name} p50 ms": percentile(latencies, 50),
            f"{name} p95 ms": percentile(latencies, 95),
            f"{name} p99 ms": percentile(latencies, 99),
            f"{name} max ms": round(max(latencies), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="deliveries a second (default 50)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to send (default 10)")
    args = parser.parse_args()
    summary: dict[str, Any] = {"rate per s": args.rate, "seconds": args.seconds, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        summary |= measure("memory", f"memory://{work}/state.sqlite", [], args.rate, args.seconds, work)
        if shutil.which("redis-server") is None:
            print("redis-server is not installed (`make setup`): the redis:// figures are left out")
        else:
            process, url = start_redis(work)
            try:
                summary |= measure("redis", url, ["--no-worker"], args.rate, args.seconds, work)
            finally:
                process.terminate()
                process.wait(10)
    summary["target p95 ms"] = 100
    write_summary("webhook_intake", summary)


if __name__ == "__main__":
    main()

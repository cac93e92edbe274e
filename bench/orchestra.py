"""Benchmark: the orchestra's workers on a real redis-server, 200 small repositories submitted at once.

    .venv/bin/python bench/orchestra.py [--repos 200] [--io-seconds 0.2] [--concurrency 4] [--workers 1,2,4]

For an I/O-bound stage (tests/integration/slow_stage.py: it sleeps, as a stage waiting on a network would)
and for the CPU-bound analysis (the review agent), with 1, 2 and 4 worker processes: drain time from the
first submission to the last run finished, throughput, p50/p95 from submission to stage start, and lost
(runs that did not succeed) and doubled (an effect done twice) counts. Then recovery: a worker killed with
-9 in the middle of a stage, and the time until another worker starts it again, in lease periods.
Writes bench/results/orchestra.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import git

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]  # and tests/, for the I/O-bound test stage

from devops_orchestra.models.orchestra import PipelineRun  # noqa: E402
from devops_orchestra.orchestra.bus import open_bus  # noqa: E402
from devops_orchestra.orchestra.bus.base import Bus  # noqa: E402
from devops_orchestra.orchestra.runs import RunBook  # noqa: E402
from devops_orchestra.orchestra.submit import find_commit, submit  # noqa: E402

SLOW = "tests.integration.slow_stage"
T = TypeVar("T")


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server is not installed: `make setup` installs it.")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
                                "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                                "--logfile", "redis.log"], stdin=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def make_repos(root: Path, count: int) -> list[Path]:
    """count small git repositories, each with code of its own (so no scan cache answers for another)."""
    repos = []
    for n in range(count):
        path = root / f"svc{n:03d}"
        path.mkdir(parents=True)
        (path / "app.py").write_text(
            f"import subprocess\n\n\ndef handler_{n}(event):\n    total = {n}\n"
            f"    for item in event:\n        total += len(item)\n    return total\n", encoding="utf-8")
        (path / "requirements.txt").write_text("flask==3.0.3\n", encoding="utf-8")
        repo = git.Repo.init(path, initial_branch="main")
        repo.index.add(["app.py", "requirements.txt"])
        repo.index.commit("first", author=git.Actor("bench", "bench@example.com"))
        repos.append(path)
    return repos


def start_workers(url: str, count: int, state: Path, extra: list[str], env: dict[str, str]) -> list[Any]:
    workers, logs = [], []
    for i in range(count):
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
                       "DEVOPS_ORCHESTRA_STORE": str(state / f"runs-{i}.sqlite3"),
                       "DEVOPS_ORCHESTRA_CACHE": str(state / f"cache-{i}.sqlite3"), **env}
        log = state / f"worker-{i}-{time.monotonic_ns()}.log"  # a file: a full pipe would stop the worker
        with open(log, "w") as out:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "devops_orchestra", "worker", "--bus", url, *extra], env=environment,
                stdout=subprocess.DEVNULL, stderr=out))
        logs.append(log)
    while not all(log.read_text().strip() for log in logs):  # each says on its first line that it is reading
        time.sleep(0.05)
    return workers


def stop_workers(workers: list[Any]) -> None:
    for w in workers:
        w.send_signal(signal.SIGTERM)
    for w in workers:
        w.wait(timeout=60)


async def drain(bus: Bus, repos: list[Path], stage: str, modules: list[str]) -> tuple[float, list[PipelineRun]]:
    """Submit every repository at once; (seconds until the last run finished, the runs)."""
    commits = await bounded([find_commit(str(r), None) for r in repos])
    started = time.time()
    runs = [r for r, _ in await bounded([submit(bus, c, [stage], modules) for c in commits])]
    book = RunBook(bus)
    while True:
        done = await bounded([book.require(r.run_id) for r in runs])
        if all(r.finished for r in done):
            break
        await asyncio.sleep(0.25)
    last = max(s.finished_at.timestamp() for r in done for s in r.stages if s.finished_at)
    return last - started, done


async def bounded(work: list[Coroutine[Any, Any, T]], at_once: int = 32) -> list[T]:
    """gather, 32 at a time (one client's connection pool is bounded)."""
    gate = asyncio.Semaphore(at_once)

    async def one(c: Coroutine[Any, Any, T]) -> T:
        async with gate:
            return await c

    return await asyncio.gather(*(one(c) for c in work))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def scenario(url: str, repos: list[Path], tmp: Path, stage: str, workers: int, args: argparse.Namespace) \
        -> dict[str, Any]:
    import redis

    redis.Redis.from_url(url).flushall()
    log = tmp / f"{stage}-{workers}.log"
    state = tmp / f"{stage}-{workers}"
    state.mkdir()
    env = {"DEVOPS_ORCHESTRA_TEST_SLOW": str(args.io_seconds), "DEVOPS_ORCHESTRA_TEST_LOG": str(log)}
    extra = ["--stages", stage, "--concurrency", str(args.concurrency)] + (["--load", SLOW] if stage == "slow" else [])
    procs = start_workers(url, workers, state, extra, env)
    bus = open_bus(url)
    try:
        seconds, runs = await drain(bus, repos, stage, [SLOW] if stage == "slow" else [])
        topics = (await bus.status()).topics
    finally:
        await bus.close()
        stop_workers(procs)
    waits = [(r.stage(stage).started_at - r.created_at).total_seconds() for r in runs if r.stage(stage).started_at]
    if stage == "slow":
        effects = [line for line in log.read_text().splitlines() if line.startswith("effect")]
        doubled = len(effects) - len(set(effects))
    else:
        doubled = topics.get("code_analysis_result", 0) - len(runs)
    return {"stage": stage, "workers": workers, "concurrency": args.concurrency, "runs": len(runs),
            "drain_s": round(seconds, 2), "throughput_per_s": round(len(runs) / seconds, 2),
            "submit_to_start_p50_s": round(percentile(waits, 0.5), 3),
            "submit_to_start_p95_s": round(percentile(waits, 0.95), 3),
            "lost": sum(r.state != "succeeded" for r in runs), "doubled": doubled}


async def poll(book: RunBook, run_id: str, ready: Callable[[PipelineRun], bool]) -> PipelineRun:
    """The run once ready(run) holds (it lives in Redis: polled)."""
    while not ready(run := await book.require(run_id)):  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return run


async def recovery(url: str, repos: list[Path], tmp: Path, lease_s: float) -> dict[str, Any]:
    """Kill -9 the worker running a stage; seconds until another worker starts that stage again."""
    import redis

    redis.Redis.from_url(url).flushall()
    log = tmp / "recovery.log"
    env = {"DEVOPS_ORCHESTRA_TEST_SLOW": str(4 * lease_s), "DEVOPS_ORCHESTRA_TEST_LOG": str(log)}
    extra = ["--load", SLOW, "--stages", "slow", "--lease", str(lease_s), "--concurrency", "1"]
    (tmp / "recovery").mkdir()
    first = start_workers(url, 1, tmp / "recovery", extra, env)
    bus = open_bus(url)
    try:
        run, _ = await submit(bus, await find_commit(str(repos[0]), None), ["slow"], [SLOW])
        book = RunBook(bus)
        await poll(book, run.run_id, lambda r: r.stage("slow").state == "running")
        second = start_workers(url, 1, tmp / "recovery", extra, env)
        first[0].send_signal(signal.SIGKILL)
        killed = time.time()
        first[0].wait()
        restarted = (await poll(book, run.run_id, lambda r: r.stage("slow").attempts >= 2)).stage("slow").started_at
        assert restarted is not None
        current = await poll(book, run.run_id, lambda r: r.finished)
        effects = [line for line in log.read_text().splitlines() if line.startswith("effect")]
    finally:
        await bus.close()
    stop_workers(second)
    took = restarted.timestamp() - killed
    return {"lease_s": lease_s, "recovery_s": round(took, 2), "lease_periods": round(took / lease_s, 2),
            "state": current.state, "effects": len(effects)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--io-seconds", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--lease", type=float, default=2.0, help="lease for the recovery measurement")
    parser.add_argument("--skip-analysis", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-orchestra-") as name:
        tmp = Path(name)
        (tmp / "redis").mkdir()
        server, url = start_redis(tmp / "redis")
        try:
            repos = make_repos(tmp / "repos", args.repos)
            results = []
            for stage in ["slow"] + ([] if args.skip_analysis else ["analysis"]):
                for workers in [int(w) for w in args.workers.split(",")]:
                    result = await scenario(url, repos, tmp, stage, workers, args)
                    print(json.dumps(result), flush=True)
                    results.append(result)
            recovered = await recovery(url, repos, tmp, args.lease)
            print(json.dumps(recovered), flush=True)
        finally:
            server.terminate()
            server.wait()
    out = {"cpus": os.cpu_count(), "io_seconds": args.io_seconds, "drains": results, "recovery": recovered}
    (REPO / "bench" / "results").mkdir(exist_ok=True)
    (REPO / "bench" / "results" / "orchestra.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())

"""Workers as real processes on a real redis-server: one killed with -9 mid-stage, 20 quick pushes to one
branch, the same submission twice, SIGTERM; and a worker in this process keeping its streams bounded on both
engines."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import git
import pytest
import redis

from devops_orchestra.models.events import CodePush, Envelope, Payload, TestResults
from devops_orchestra.models.orchestra import PipelineRun
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.retention import Retention
from devops_orchestra.orchestra.runs import RunBook
from devops_orchestra.orchestra.stages.base import Stage, StageContext
from devops_orchestra.orchestra.submit import find_commit, submit
from devops_orchestra.orchestra.worker import Worker, watch
from tests.helpers import REPO, RedisServer, redis_server, write

SLOW = "tests.integration.slow_stage"


def commit(root: Path, files: dict[str, str]) -> str:
    """Write files and commit them on main; the new sha."""
    repo = git.Repo(root) if (root / ".git").exists() else git.Repo.init(root, initial_branch="main")
    write(root, files)
    repo.index.add(list(files))
    return repo.index.commit("change", author=git.Actor("t", "t@example.com")).hexsha


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as started:
        yield started


@pytest.fixture
async def bus(server: RedisServer) -> AsyncIterator[Bus]:
    redis.Redis.from_url(server.url).flushall()
    opened = open_bus(server.url)
    yield opened
    await opened.close()


def cli(*args: str, **env: str) -> subprocess.Popen[str]:
    """devops-orchestra ARGS in a process of its own, able to import tests/ (for --load)."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]), **env}
    return subprocess.Popen([sys.executable, "-m", "devops_orchestra", *args], env=environment, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def worker(url: str, *extra: str, **env: str) -> subprocess.Popen[str]:
    return cli("worker", "--bus", url, "--lease", "1", *extra, **env)


async def until(bus: Bus, run_id: str, ready: object, timeout_s: float = 30) -> PipelineRun:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = await RunBook(bus).require(run_id)
        if callable(ready) and ready(run):
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} never got there: {run.model_dump_json(indent=1)}")


async def test_a_worker_killed_mid_stage_is_replaced_and_the_effect_happens_once(
        tmp_path: Path, server: RedisServer, bus: Bus) -> None:
    log = tmp_path / "stage.log"
    env = {"DEVOPS_ORCHESTRA_TEST_SLOW": "2", "DEVOPS_ORCHESTRA_TEST_LOG": str(log)}
    sha = commit(tmp_path / "shop", {"app.py": "A = 1\n"})
    first = worker(server.url, "--load", SLOW, "--stages", "slow", **env)
    second = None
    try:
        run, _ = await submit(bus, await find_commit(str(tmp_path / "shop"), None), ["slow"], [SLOW])
        running = await until(bus, run.run_id, lambda r: r.stage("slow").state == "running")
        assert running.stage("slow").worker == f"{os.uname().nodename}-{first.pid}"
        second = worker(server.url, "--load", SLOW, **env)
        first.send_signal(signal.SIGKILL)
        first.wait()
        done = await watch(RunBook(bus), run.run_id, timeout_s=40)
        assert done.state == "succeeded", done
        assert (done.stage("slow").attempts, done.stage("slow").worker) == (2, f"{os.uname().nodename}-{second.pid}")
        starts = [line for line in log.read_text().splitlines() if line.startswith("start")]
        assert starts == [f"start {sha} {first.pid}", f"start {sha} {second.pid}"]
        assert log.read_text().count("effect") == 1
        topics = (await bus.status()).topics
        assert (topics["test_results"], topics["run_finished"]) == (1, 1)
        second.send_signal(signal.SIGTERM)  # graceful: nothing in hand, so it leaves at once with 0
        assert second.wait(timeout=15) == 0
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


async def test_twenty_quick_pushes_never_share_the_ref_and_the_last_is_analysed(
        tmp_path: Path, server: RedisServer, bus: Bus) -> None:
    repo = tmp_path / "shop"
    workers = [worker(server.url, "--concurrency", "2") for _ in range(2)]
    try:
        runs = []
        for n in range(20):
            commit(repo, {f"m{n}.py": f"N = {n}\n"})
            runs.append((await submit(bus, await find_commit(str(repo), None), ["analysis"]))[0])
        last = await watch(RunBook(bus), runs[-1].run_id, timeout_s=60)
        assert last.state == "succeeded" and last.stage("analysis").state == "succeeded"
        final = [await watch(RunBook(bus), r.run_id, timeout_s=30) for r in runs]
        analysed = sorted((r.stage("analysis") for r in final if r.stage("analysis").started_at),
                          key=lambda s: s.started_at or 0)
        for before, after in itertools.pairwise(analysed):
            assert before.finished_at and after.started_at and before.finished_at <= after.started_at
        assert {r.state for r in final} <= {"succeeded", "superseded"}
        assert 1 <= len(analysed) < 20  # those queued behind a newer push were superseded, not analysed
        assert all(r.superseded_by in {x.sha for x in runs[i + 1:]} for i, r in enumerate(final)
                   if r.state == "superseded")
    finally:
        for p in workers:
            p.send_signal(signal.SIGTERM)
        assert [p.wait(timeout=20) for p in workers] == [0, 0]


async def test_the_same_submission_twice_from_two_shells_is_one_run(tmp_path: Path, server: RedisServer,
                                                                    bus: Bus) -> None:
    commit(tmp_path / "shop", {"app.py": "A = 1\n"})
    answers = [cli("submit", str(tmp_path / "shop"), "--bus", server.url, "--stages", "analysis",
                   "--format", "json").communicate(timeout=60) for _ in range(2)]
    ids = {json.loads(out)["run_id"] for out, _ in answers}
    assert len(ids) == 1, answers
    status = json.loads(cli("bus", "status", "--bus", server.url, "--format", "json").communicate(timeout=60)[0])
    assert (status["engine"], status["topics"]) == ("redis", {"code_push": 1})
    listed = cli("runs", "--bus", server.url, "--format", "json").communicate(timeout=60)[0]
    assert [r["run_id"] for r in json.loads(listed)["runs"]] == list(ids)


async def test_sigterm_lets_the_stage_in_hand_finish_then_the_worker_exits_0(
        tmp_path: Path, server: RedisServer, bus: Bus) -> None:
    env = {"DEVOPS_ORCHESTRA_TEST_SLOW": "1.5", "DEVOPS_ORCHESTRA_TEST_LOG": str(tmp_path / "stage.log")}
    commit(tmp_path / "shop", {"app.py": "A = 1\n"})
    process = worker(server.url, "--load", SLOW, "--stages", "slow", **env)
    try:
        run, _ = await submit(bus, await find_commit(str(tmp_path / "shop"), None), ["slow"], [SLOW])
        await until(bus, run.run_id, lambda r: r.stage("slow").state == "running")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        done = await RunBook(bus).require(run.run_id)
        assert (done.state, done.stage("slow").attempts) == ("succeeded", 1)
        assert (await bus.status()).groups[0].pending == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_waiting_on_a_bus_without_workers_says_how_to_start_one(tmp_path: Path, server: RedisServer,
                                                                      bus: Bus) -> None:
    commit(tmp_path / "shop", {"app.py": "A = 1\n"})
    waiting = cli("submit", str(tmp_path / "shop"), "--bus", server.url, "--stages", "analysis", "--wait")
    try:
        assert waiting.stderr is not None
        hint = waiting.stderr.readline()  # said before it waits, not after
        assert f"start one with `devops-orchestra worker --bus {server.url}`" in hint, hint
        assert waiting.poll() is None  # and it waits
    finally:
        waiting.kill()
        waiting.communicate()


async def test_the_broker_killed_mid_stage_and_restarted_loses_nothing(tmp_path: Path) -> None:
    log = tmp_path / "stage.log"
    env = {"DEVOPS_ORCHESTRA_TEST_SLOW": "1.5", "DEVOPS_ORCHESTRA_TEST_LOG": str(log)}
    sha = commit(tmp_path / "shop", {"app.py": "A = 1\n"})
    (tmp_path / "redis").mkdir()
    with redis_server(tmp_path / "redis") as broker:  # its own: the module's server is shared
        process = worker(broker.url, "--load", SLOW, "--stages", "slow", **env)
        try:
            bus = open_bus(broker.url)
            run, _ = await submit(bus, await find_commit(str(tmp_path / "shop"), None), ["slow"], [SLOW])
            await until(bus, run.run_id, lambda r: r.stage("slow").state == "running")
            await bus.close()
            broker.kill()  # kill -9 in the middle of the stage: its renewals, its result and its ack fail
            await asyncio.sleep(0.5)
            broker.start()  # the same directory (append-only file, fsync always) and port
            bus = open_bus(broker.url)
            done = await watch(RunBook(bus), run.run_id, timeout_s=40)
            assert done.state == "succeeded", done
            assert log.read_text().count(f"effect {sha}") == 1
            assert (await bus.status()).topics["run_finished"] == 1
            await bus.close()
        finally:
            process.kill()
            process.wait()


class Quick(Stage):
    """Passes at once."""

    name = "quick"
    consumes = "code_push"
    publishes = "test_results"

    async def handle(self, event: Envelope, context: StageContext) -> Payload:
        return TestResults(outcome="passed", passed=1)

    def summary(self, payload: Payload) -> str:
        return "passed"


@pytest.mark.parametrize("engine", ["memory", "redis"])
async def test_a_long_running_worker_keeps_its_streams_bounded(tmp_path: Path, server: RedisServer,
                                                              engine: str) -> None:
    """Wave after wave of runs: every run succeeds (nothing unread is trimmed) and no topic keeps more than its
    newest `stream_keep` entries once they are acknowledged (test_results and run_finished have no group)."""
    redis.Redis.from_url(server.url).flushall()
    bus = open_bus(f"memory://{tmp_path}/state.sqlite" if engine == "memory" else server.url)
    keep = Retention(stream_keep=3, trim_every_s=0.05)
    stop = asyncio.Event()
    worker = Worker(bus, dict[str, Stage](quick=Quick()), concurrency=1, block_s=0.05, lease_s=0.2, keep=keep)
    working = asyncio.create_task(worker.run(stop))
    book = RunBook(bus)
    for wave in range(3):
        runs = []
        for n in range(10):  # dirty: a submission each, though the sha is the same
            run, _ = await book.create(repo="shop", ref=f"b{wave}-{n}", sha="a" * 40, source=str(tmp_path),
                                       stages=["quick"], dirty=True)
            await bus.publish("code_push", Envelope(type="code_push", repo=run.repo, ref=run.ref, sha=run.sha,
                                                    run_id=run.run_id, correlation_id="c",
                                                    payload=CodePush(source=run.source)))
            runs.append(run)
        for run in runs:
            assert (await watch(book, run.run_id, poll_s=0.02, timeout_s=10)).state == "succeeded"
        for _ in range(100):
            topics = (await bus.status()).topics
            if max(topics.values()) <= keep.stream_keep:
                break
            await asyncio.sleep(0.02)
        assert topics == {"code_push": 3, "test_results": 3, "run_finished": 3}
    stop.set()
    await working
    await bus.close()
    if engine == "redis":  # nothing per run or per commit is kept forever: runs, submissions, heads, effects
        kept = redis.Redis.from_url(server.url, decode_responses=True)
        keys = list(kept.scan_iter("orchestra:kv:*"))
        assert len(keys) == 30 * 4 and all(kept.ttl(key) > 0 for key in keys)

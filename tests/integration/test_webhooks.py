"""`webhooks serve` as a real process: signed deliveries over HTTP start runs that its embedded worker works
through; a replayed delivery is one run; a bad signature is 401 and nothing on the bus."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from devops_orchestra.gitops import signature
from devops_orchestra.models.orchestra import PipelineRun
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.runs import RunBook
from tests.helpers import REPO, commit_files, free_port, http_server

SECRET = "integration-webhook-secret"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """The server on a free port (its URL), the repository it maps acme/shop to, and its bus state file."""
    origin, state = tmp_path / "shop", tmp_path / "state.sqlite"
    commit_files(origin, {"README.md": "shop\n"})
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
           "DEVOPS_ORCHESTRA_WEBHOOK_SECRET": SECRET, "DEVOPS_ORCHESTRA_TEST_LOG": str(tmp_path / "stage.log"),
           "DEVOPS_ORCHESTRA_WORKSPACES": str(tmp_path / "workspaces")}
    argv = [sys.executable, "-m", "devops_orchestra", "webhooks", "serve", "--port", str(port),
            "--bus", f"memory://{state}", "--repo-map", f"acme/shop={origin}",
            "--load", "tests.integration.slow_stage", "--stages", "slow"]
    url = f"http://127.0.0.1:{port}"
    with http_server(argv, env, url + "/healthz", tmp_path / "server.log"):
        yield url, origin, state


def deliver(url: str, sha: str, delivery: str, secret: str = SECRET) -> httpx2.Response:
    body = json.dumps({"ref": "refs/heads/main", "after": sha, "before": "0" * 40, "pusher": {"name": "t"},
                       "repository": {"full_name": "acme/shop",
                                      "clone_url": "https://github.invalid/acme/shop.git"}}).encode()
    return httpx2.post(url + "/github", content=body, timeout=10, headers={
        "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery, "Content-Type": "application/json",
        "X-Hub-Signature-256": signature.sign(secret, body)})


async def finished(state: Path, timeout_s: float = 30) -> PipelineRun:
    """The one run on the bus, once it has finished (memory://: the server creates it just after answering)."""
    bus = open_bus(f"memory://{state}")
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            runs = await RunBook(bus).newest(5)
            assert len(runs) <= 1, runs
            if runs and runs[0].finished:
                return runs[0]
            await asyncio.sleep(0.1)
        raise AssertionError(f"no run finished: {runs}")
    finally:
        await bus.close()


async def test_a_push_runs_once_however_often_it_is_delivered(served: tuple[str, Path, Path], tmp_path: Path) -> None:
    url, origin, state = served
    sha = commit_files(origin, {"app.py": "print('hi')\n"})
    first = deliver(url, sha, "delivery-1")
    assert first.status_code == 202 and sha[:12] in first.json()["message"], first.text
    again = deliver(url, sha, "delivery-1")
    assert again.status_code == 200 and "received before" in again.json()["message"]
    run = await finished(state)
    assert (run.state, run.repo, run.ref, run.sha) == ("succeeded", "acme/shop", "main", sha)
    assert (tmp_path / "stage.log").read_text().count(f"effect {sha}") == 1


async def test_a_bad_signature_is_refused_and_starts_nothing(served: tuple[str, Path, Path]) -> None:
    url, origin, state = served
    sha = commit_files(origin, {"app.py": "print('bad')\n"})
    refused = deliver(url, sha, "delivery-2", secret="guessed")
    assert refused.status_code == 401 and SECRET not in refused.text
    bus = open_bus(f"memory://{state}")
    try:
        assert await RunBook(bus).newest(5) == []
    finally:
        await bus.close()
    assert httpx2.post(url + "/github", content=b"x" * 10, timeout=10).status_code == 401  # no headers at all

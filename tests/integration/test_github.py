"""Results on GitHub, through githubkit against a local server speaking GitHub's REST wire format: a check run per
stage from queued to completed, annotations 50 a request, one PR comment edited in place, commit statuses when
checks are forbidden, retries on 5xx and secondary rate limits, GitHub App tokens, and the same check run after a
worker killed with -9."""

from __future__ import annotations

import asyncio
import base64
import gzip
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devops_orchestra.chatops.checks import MARKER, GitHubReporter
from devops_orchestra.chatops.follow import REPORTED, Follower
from devops_orchestra.chatops.github import GitHubClients, GitHubSettings
from devops_orchestra.core.store import Store, open_store
from devops_orchestra.gitops.signature import sign
from devops_orchestra.models import Finding, Location, Remediation, ReviewReport, Severity
from devops_orchestra.models.events import CodeAnalysisResult, CodePush, Envelope, Payload, new_id
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.runs import RunBook
from devops_orchestra.orchestra.stages import builtin
from devops_orchestra.orchestra.stages.base import Stage, StageContext
from devops_orchestra.orchestra.submit import Commit, submit
from devops_orchestra.orchestra.worker import Worker
from tests.helpers import REPO, commit_files, free_port, http_server, json_api, redis_server

TOKEN = "ghp_testtoken000000000000000000000000000"


# -- a local GitHub ---------------------------------------------------------------------------------------------

@dataclass
class Rule:
    """Answer the next `times` requests matching method and path with status, headers and body."""

    method: str
    path: str  # a regular expression
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=lambda: {"message": "Server Error"})


@dataclass
class FakeGitHub:
    """Check runs, issue comments, commit statuses, PRs of a commit, App installations and SARIF uploads."""

    url: str = ""
    app_key: Any = None  # an App's public key: Bearer JWTs are checked against it
    token_life_s: int = 3600
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path, JSON body)
    rules: list[Rule] = field(default_factory=list)
    checks: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    pulls: dict[str, list[int]] = field(default_factory=dict)  # sha -> open pull requests
    tokens: list[str] = field(default_factory=list)  # installation tokens issued
    sarifs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> the upload, and status reads so far
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self, method: str, pattern: str) -> list[Any]:
        return [body for m, p, body in self.requests if m == method and re.fullmatch(pattern, p)]

    def answer(self, method: str, path: str, auth: str, body: Any) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            self.requests.append((method, path, body))
            for rule in self.rules:
                if rule.method == method and re.fullmatch(rule.path, path) and rule.times > 0:
                    rule.times -= 1
                    return rule.status, rule.headers, rule.body
            if self.app_key is not None and (path.startswith("/app/") or path.endswith("/installation")):
                try:
                    jwt.decode(auth.removeprefix("Bearer "), self.app_key, algorithms=["RS256"])
                except jwt.PyJWTError as exc:
                    return 401, {}, {"message": f"bad JWT: {exc}"}
            elif auth not in {f"token {t}" for t in [TOKEN, *self.tokens]} | {f"Bearer {TOKEN}"}:
                return 401, {}, {"message": "Bad credentials"}
            return self.route(method, path, body)

    def route(self, method: str, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/installation", path):
            return 200, {}, {"id": 42}
        if method == "POST" and path == "/app/installations/42/access_tokens":
            token = f"ghs_installation{len(self.tokens):024d}"
            self.tokens.append(token)
            expires = datetime.now(UTC) + timedelta(seconds=self.token_life_s)
            return 201, {}, {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if method == "POST" and re.fullmatch(r"/repos/[^/]+/[^/]+/check-runs", path):
            check = {"id": next(self.ids), **body, "history": [body.get("status")], "annotations": []}
            self.checks[check["id"]] = check
            return 201, {}, check
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/check-runs/(\d+)", path):
            check = self.checks[int(m[1])]
            output = dict(body.get("output") or {})
            check["annotations"] += output.pop("annotations", [])
            check.update(body | ({"output": output} if output else {}))
            if "status" in body and body["status"] != check["history"][-1]:
                check["history"].append(body["status"])
            return 200, {}, check
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/commits/([0-9a-f]+)/check-runs", path):
            return 200, {}, {"total_count": 0, "check_runs": [c for c in self.checks.values() if c["head_sha"] == m[1]]}
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/commits/([0-9a-f]+)/pulls", path):
            return 200, {}, [{"number": n, "state": "open"} for n in self.pulls.get(m[1], [])]
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", path):
            listed = self.comments.setdefault(int(m[1]), [])
            if method == "GET":
                return 200, {}, listed
            listed.append({"id": next(self.ids), "body": body["body"]})
            return 201, {}, listed[-1]
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", path):
            found = next(c for cs in self.comments.values() for c in cs if c["id"] == int(m[1]))
            found["body"] = body["body"]
            return 200, {}, found
        if method == "POST" and re.fullmatch(r"/repos/[^/]+/[^/]+/code-scanning/sarifs", path):
            sarif_id = f"sarif-{len(self.sarifs)}"
            self.sarifs[sarif_id] = {**body, "reads": 0}
            return 202, {}, {"id": sarif_id, "url": f"{self.url}{path}/{sarif_id}"}
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/code-scanning/sarifs/([\w-]+)", path):
            upload = self.sarifs[m[1]]
            upload["reads"] += 1  # processed by the second look
            return 200, {}, {"processing_status": "complete" if upload["reads"] > 1 else "pending"}
        if re.fullmatch(r"/repos/[^/]+/[^/]+/statuses/[0-9a-f]+", path):
            self.statuses.append(body)
            return 201, {}, {"id": next(self.ids), **body}
        return 404, {}, {"message": "Not Found"}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with json_api(lambda method, path, headers, body: fake.answer(method, path, headers.get("Authorization", ""),
                                                                  body)) as fake.url:
        yield fake


# -- stages that stand for the real ones --------------------------------------------------------------------------

FINDINGS = 120  # more than two requests' worth of annotations


class Analysis(Stage):
    """The analysis stage's shape: a review report in the run store with FINDINGS findings, and its verdict."""

    name = "analysis"
    consumes = "code_push"
    publishes = "code_analysis_result"

    async def handle(self, event: Envelope, context: StageContext) -> Payload:
        await asyncio.sleep(0.6)  # long enough to be seen in progress
        run_id = f"review-{event.sha[:12]}"
        context.store.begin(run_id, agent="review", target=context.checkout, path=".", arguments={})
        findings = [Finding(id=f"f{i}", rule_id="bandit:B602", scanner="bandit", category="injection",
                            severity=Severity.high, title="subprocess with shell=True", message=f"line {i}",
                            location=Location(path="app.py", start_line=i + 1, end_line=i + 1),
                            remediation=Remediation(summary="pass a list")) for i in range(FINDINGS)]
        context.store.finish(ReviewReport(run_id=run_id, root=str(context.checkout), path=".", duration_s=0.1,
                                          findings=findings, plan=[], verdict="needs changes",
                                          verdict_reasons=["120 high findings"]))
        return CodeAnalysisResult(verdict="needs changes", reasons=["120 high findings"], findings=FINDINGS,
                                  by_severity={"high": FINDINGS}, report_run_id=run_id)

    def summary(self, payload: Payload) -> str:
        return "needs changes"


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Bus]:
    opened = open_bus(f"memory://{tmp_path}/state.sqlite")
    yield opened
    await opened.close()


async def reported(bus: Bus, run_id: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while await bus.get(REPORTED + run_id) is None:
        assert time.monotonic() < deadline, f"run {run_id} was never reported to the end"
        await asyncio.sleep(0.05)


async def pipeline(bus: Bus, store: Store, settings: GitHubSettings, commits: list[Commit]) -> list[str]:
    """Run each commit through Analysis and the plan stage with a worker and a follower in this process."""
    stop = asyncio.Event()
    stages: dict[str, Stage] = {"analysis": Analysis(), "plan": builtin()["plan"]}  # plan: stopped by the gate
    tasks = [asyncio.create_task(Worker(bus, stages, store=store, block_s=0.1).run(stop)),
             asyncio.create_task(Follower(bus, [GitHubReporter(GitHubClients(settings), bus, store, sarif_poll_s=0.05)],
                                          poll_s=0.1).run(stop))]
    runs = []
    try:
        for c in commits:  # one after the other: the PR comment is edited by the second
            run, _ = await RunBook(bus).create(repo=c.repo, ref=c.ref, sha=c.sha, source=c.source,
                                               stages=list(stages))
            await bus.publish("code_push", Envelope(type="code_push", repo=c.repo, ref=c.ref, sha=c.sha,
                                                    run_id=run.run_id, correlation_id=new_id(),
                                                    payload=CodePush(source=c.source)))
            await reported(bus, run.run_id)
            runs.append(run.run_id)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return runs


async def test_each_stage_has_one_check_run_with_its_annotations_and_the_pr_one_comment(
        github: FakeGitHub, bus: Bus, tmp_path: Path) -> None:
    shas = [commit_files(tmp_path / "shop", {"app.py": f"print({n})\n"}) for n in range(2)]
    commits = [Commit(source=str(tmp_path / "shop"), repo="acme/shop", ref="pull/7", sha=sha) for sha in shas]
    store = await asyncio.to_thread(open_store)
    await pipeline(bus, store, GitHubSettings(token=TOKEN, base_url=github.url), commits)

    by_stage = {(c["head_sha"], c["name"]): c for c in github.checks.values()}
    assert len(github.checks) == 4  # two stages, two commits: one check run each, never a second
    analysis, plan = by_stage[(shas[0], "devops-orchestra/analysis")], by_stage[(shas[0], "devops-orchestra/plan")]
    assert analysis["history"] == ["queued", "in_progress", "completed"]
    assert (analysis["conclusion"], plan["conclusion"]) == ("failure", "skipped")  # stopped by the verdict gate
    assert analysis["external_id"] == f"acme/shop:{shas[0]}:analysis"
    assert "needs changes" in analysis["output"]["summary"]
    assert len(analysis["annotations"]) == FINDINGS
    assert {a["annotation_level"] for a in analysis["annotations"]} == {"failure"}
    patches = [b for b in github.calls("PATCH", rf"/repos/acme/shop/check-runs/{analysis['id']}")
               if b.get("output", {}).get("annotations")]
    assert [len(b["output"]["annotations"]) for b in patches] == [50, 50, 20]

    deadline = time.monotonic() + 10  # the SARIF uploads are polled in the background
    while sorted(u["reads"] for u in github.sarifs.values()) != [2, 2]:
        assert time.monotonic() < deadline, github.sarifs
        await asyncio.sleep(0.05)
    uploads = sorted(github.sarifs.values(), key=lambda u: shas.index(u["commit_sha"]))
    assert [(u["commit_sha"], u["ref"]) for u in uploads] == [(sha, "refs/pull/7/head") for sha in shas]
    sarif = json.loads(gzip.decompress(base64.b64decode(uploads[0]["sarif"])))
    assert len(sarif["runs"][0]["results"]) == FINDINGS

    [comment] = github.comments[7]  # one comment, edited for the second commit
    assert MARKER in comment["body"] and shas[1][:12] in comment["body"] and "needs changes" in comment["body"]
    assert len(github.calls("POST", r"/repos/acme/shop/issues/7/comments")) == 1
    assert len(github.calls("PATCH", r"/repos/acme/shop/issues/comments/\d+")) == 1


async def test_statuses_stand_in_when_the_token_cannot_write_checks(github: FakeGitHub, bus: Bus,
                                                                     tmp_path: Path) -> None:
    github.rules.append(Rule("POST", r"/repos/acme/shop/check-runs", 403, times=100,
                             body={"message": "Resource not accessible by personal access token"}))
    sha = commit_files(tmp_path / "shop", {"app.py": "print(1)\n"})
    github.pulls[sha] = [3]  # a push to a branch with an open pull request: the comment goes there
    store = await asyncio.to_thread(open_store)
    await pipeline(bus, store, GitHubSettings(token=TOKEN, base_url=github.url),
                   [Commit(source=str(tmp_path / "shop"), repo="acme/shop", ref="feature", sha=sha)])
    assert github.checks == {}
    final = {s["context"]: s["state"] for s in github.statuses}  # the last state of each context
    assert final == {"devops-orchestra/analysis": "failure", "devops-orchestra/plan": "success"}
    assert github.statuses[0]["state"] == "pending"
    assert len(github.comments[3]) == 1


async def test_server_errors_and_secondary_rate_limits_are_retried(github: FakeGitHub, bus: Bus) -> None:
    github.rules += [Rule("POST", r"/repos/acme/shop/check-runs", 502),
                     Rule("POST", r"/repos/acme/shop/check-runs", 403, headers={"Retry-After": "1"},
                          body={"message": "You have exceeded a secondary rate limit."})]
    clients = GitHubClients(GitHubSettings(token=TOKEN, base_url=github.url, backoff_s=0.05))
    gh = await clients.for_repo("acme", "shop")
    began = time.monotonic()
    made = await gh.rest.checks.async_create("acme", "shop", name="x", head_sha="a" * 40, status="queued")
    assert made.json()["id"] in github.checks
    assert len(github.calls("POST", r"/repos/acme/shop/check-runs")) == 3
    assert time.monotonic() - began >= 1.0  # Retry-After was honoured


async def test_a_github_app_signs_a_jwt_and_refreshes_its_installation_token(github: FakeGitHub) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    github.app_key, github.token_life_s = key.public_key(), 61  # kept until a minute before it expires: ~1 s
    clients = GitHubClients(GitHubSettings(app_id=str(time.time_ns()), private_key=pem, base_url=github.url))
    gh = await clients.for_repo("acme", "shop")
    await gh.arequest("POST", "/repos/acme/shop/statuses/" + "a" * 40, json={"state": "pending"})
    await asyncio.sleep(1.5)
    await gh.arequest("POST", "/repos/acme/shop/statuses/" + "a" * 40, json={"state": "success"})
    assert len(github.tokens) == 2 and len(github.statuses) == 2
    assert len(github.calls("GET", r"/repos/acme/shop/installation")) == 1


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)


async def test_a_stage_retried_after_its_worker_was_killed_updates_the_same_check_run(
        github: FakeGitHub, tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        redis.Redis.from_url(server.url).flushall()
        bus = open_bus(server.url)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
               "DEVOPS_ORCHESTRA_TEST_LOG": str(tmp_path / "stage.log"), "DEVOPS_ORCHESTRA_TEST_SLOW": "2"}
        argv = [sys.executable, "-m", "devops_orchestra", "worker", "--bus", server.url, "--lease", "1",
                "--load", "tests.integration.slow_stage", "--stages", "slow"]
        sha = commit_files(tmp_path / "shop", {"app.py": "print(1)\n"})
        stop = asyncio.Event()
        follower = asyncio.create_task(Follower(bus, [GitHubReporter(GitHubClients(GitHubSettings(
            token=TOKEN, base_url=github.url)), bus)], poll_s=0.1, lease_s=1).run(stop))
        first = start(argv, env)
        second = None
        try:
            run, _ = await submit(bus, Commit(source=str(tmp_path / "shop"), repo="acme/shop", ref="main", sha=sha),
                                  ["slow"], ["tests.integration.slow_stage"])
            deadline = time.monotonic() + 30
            while not any(c["history"][-1] == "in_progress" for c in github.checks.values()):
                assert time.monotonic() < deadline, "the check run never went in progress"
                await asyncio.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            first.wait()
            second = start(argv, env)
            await reported(bus, run.run_id, timeout_s=60)
        finally:
            stop.set()
            await follower
            for p in (first, second):
                if p is not None and p.poll() is None:
                    p.terminate()
                    p.wait(10)
            await bus.close()
        finished = await RunBook(open_bus(server.url)).require(run.run_id)
        assert finished.stage("slow").attempts == 2
        [check] = github.checks.values()
        assert (check["conclusion"], check["external_id"]) == ("success", f"acme/shop:{sha}:slow")
        assert check["history"] == ["queued", "in_progress", "completed"]
        assert "attempt 2" in check["output"]["title"]


def test_a_signed_push_to_the_server_ends_as_check_runs_and_a_pr_comment(github: FakeGitHub, tmp_path: Path) -> None:
    """The whole way through real processes: GitHub's delivery in, GitHub's API out, no secret in the log."""
    origin = tmp_path / "shop"
    sha = commit_files(origin, {"app.py": "print(1)\n"})
    github.pulls[sha] = [9]
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
           "DEVOPS_ORCHESTRA_WEBHOOK_SECRET": "hook-secret", "DEVOPS_ORCHESTRA_GITHUB_TOKEN": TOKEN,
           "DEVOPS_ORCHESTRA_GITHUB_URL": github.url, "DEVOPS_ORCHESTRA_TEST_LOG": str(tmp_path / "stage.log")}
    argv = [sys.executable, "-m", "devops_orchestra", "webhooks", "serve", "--port", str(port),
            "--bus", f"memory://{tmp_path}/state.sqlite", "--repo-map", f"acme/shop={origin}",
            "--load", "tests.integration.slow_stage", "--stages", "slow"]
    body = json.dumps({"ref": "refs/heads/feature", "after": sha, "repository": {
        "full_name": "acme/shop", "clone_url": "https://github.invalid/acme/shop.git"}}).encode()
    with http_server(argv, env, f"http://127.0.0.1:{port}/healthz", tmp_path / "server.log"):
        answer = httpx2.post(f"http://127.0.0.1:{port}/github", content=body, timeout=10, headers={
            "X-GitHub-Event": "push", "X-GitHub-Delivery": "e2e-1", "Content-Type": "application/json",
            "X-Hub-Signature-256": sign("hook-secret", body)})
        assert answer.status_code == 202, answer.text
        deadline = time.monotonic() + 30
        while not github.comments.get(9):
            assert time.monotonic() < deadline, github.requests
            time.sleep(0.05)
    [check] = github.checks.values()
    assert (check["name"], check["head_sha"], check["conclusion"]) == ("devops-orchestra/slow", sha, "success")
    assert MARKER in github.comments[9][0]["body"]
    log = (tmp_path / "server.log").read_text()
    assert TOKEN not in log and "hook-secret" not in log

"""Slack through slack-sdk against a local server speaking Slack's Web API and response_url: a thread per run,
429s waited out, /orchestra commands answered at once with the result posted after, approval buttons, and
signatures checked (Slack's documented vector among them)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from devops_orchestra.chatops.commands import NO_DEPLOYS, SlackEndpoints
from devops_orchestra.chatops.follow import REPORTED, Follower
from devops_orchestra.chatops.slack import SlackNotifier, SlackSettings, valid_signature
from devops_orchestra.gitops.app import webhook_app
from devops_orchestra.gitops.intake import Intake
from devops_orchestra.models.orchestra import ApprovalRequest
from devops_orchestra.orchestra import approvals
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.stages import load
from devops_orchestra.orchestra.submit import Commit, submit
from devops_orchestra.orchestra.worker import Worker
from tests.helpers import (
    REPO,
    commit_files,
    free_port,
    http_server,
    json_api,
    need_binaries,
    webapp_config,
    webapp_repo,
)

SIGNING = "slack-signing-secret-for-tests"
BOT = "xoxb-test-bot-token-000000000000"


@dataclass
class FakeSlack:
    """chat.postMessage (the first answered 429 when asked to), and response_url endpoints under /response/."""

    url: str = ""
    throttle_first: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    throttled: int = 0
    ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def answer(self, path: str, auth: str, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        if path.startswith("/response/"):
            self.responses.append(body)
            return 200, {}, {"ok": True}
        if auth != f"Bearer {BOT}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if path == "/api/chat.postMessage":
            if self.throttle_first and not self.throttled:
                self.throttled += 1
                return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
            message = {**body, "ts": f"{next(self.ts)}.000100"}
            self.messages.append(message)
            return 200, {}, {"ok": True, "channel": body["channel"], "ts": message["ts"], "message": message}
        if path == "/api/chat.update":
            self.updates.append(body)
            return 200, {}, {"ok": True, "channel": body["channel"], "ts": body["ts"]}
        return 200, {}, {"ok": False, "error": "unknown_method"}


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    with json_api(lambda method, path, headers, body: fake.answer(path, headers.get("Authorization", ""),
                                                                  body)) as fake.url:
        yield fake


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Bus]:
    opened = open_bus(f"memory://{tmp_path}/state.sqlite")
    yield opened
    await opened.close()


def signed(form: dict[str, str], secret: str = SIGNING, at: float | None = None) -> tuple[bytes, dict[str, str]]:
    body = urlencode(form).encode()
    ts = str(int(at if at is not None else time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return body, {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
                  "Content-Type": "application/x-www-form-urlencoded"}


async def until(check: Any, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.05)


def test_slacks_documented_signature_vector() -> None:
    # docs.slack.dev, "Verifying requests from Slack": the worked example
    body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    assert valid_signature(secret, body, "1531420618", expected, now=1531420618 + 299)
    assert not valid_signature(secret, body, "1531420618", expected, now=1531420618 + 301)  # a replay, too old
    assert not valid_signature(secret, body + b"&x=1", "1531420618", expected, now=1531420618)
    assert not valid_signature(secret, body, "soon", expected, now=1531420618)
    assert not valid_signature(secret, body, "1531420618", None, now=1531420618)


class Deploys:
    def __init__(self) -> None:
        self.asked: list[tuple[str, ...]] = []

    async def deploy(self, service: str, ref: str, environment: str | None, by: str) -> str:
        self.asked.append(("deploy", service, ref, str(environment), by))
        return f"deploying {service} {ref}"

    async def rollback(self, service: str, environment: str | None, by: str) -> str:
        self.asked.append(("rollback", service, str(environment), by))
        return f"rolling back {service}"


async def test_commands_are_acknowledged_at_once_and_answered_on_the_response_url(
        slack: FakeSlack, bus: Bus, tmp_path: Path) -> None:
    deploys = Deploys()
    with_deploys = webhook_app(Intake(bus, "x"), SlackEndpoints(bus, SIGNING, deploys).routes())
    without = webhook_app(Intake(bus, "x"), SlackEndpoints(bus, SIGNING).routes())
    sha = commit_files(tmp_path / "shop", {"a.txt": "a\n"})
    await submit(bus, Commit(source=str(tmp_path / "shop"), repo="acme/shop", ref="main", sha=sha), ["analysis"])

    async def ask(app: Any, text: str) -> httpx.Response:
        body, headers = signed({"command": "/orchestra", "text": text, "user_name": "ana",
                                "response_url": f"{slack.url}/response/1"})
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            began = time.monotonic()
            answer = await client.post("/slack/commands", content=body, headers=headers)
            assert time.monotonic() - began < 3
            return answer

    for app, text in [(with_deploys, "status acme/shop"), (with_deploys, "deploy web v1.2 staging"),
                      (with_deploys, "rollback web"), (without, "deploy web main"), (without, "dance")]:
        answer = await ask(app, text)
        assert answer.status_code == 200 and "working on" in answer.json()["text"]
    await until(lambda: len(slack.responses) == 5)
    texts = [r["text"] for r in slack.responses]
    assert any(f"acme/shop `main` `{sha[:12]}` queued" in t for t in texts)
    assert "deploying web v1.2" in texts and "rolling back web" in texts and NO_DEPLOYS in texts
    assert any(t.startswith("I do not know `dance`") for t in texts)
    assert deploys.asked == [("deploy", "web", "v1.2", "staging", "ana"), ("rollback", "web", "None", "ana")]


async def test_a_bad_or_stale_signature_is_401_and_does_nothing(slack: FakeSlack, bus: Bus) -> None:
    deploys = Deploys()
    app = webhook_app(Intake(bus, "x"), SlackEndpoints(bus, SIGNING, deploys).routes())
    form = {"command": "/orchestra", "text": "deploy web main", "response_url": f"{slack.url}/response/1"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for body, headers in [signed(form, secret="guessed"), signed(form, at=time.time() - 600)]:
            assert (await client.post("/slack/commands", content=body, headers=headers)).status_code == 401
            assert (await client.post("/slack/actions", content=body, headers=headers)).status_code == 401
    await asyncio.sleep(0.2)
    assert deploys.asked == [] and slack.responses == []


async def test_a_run_has_one_thread_and_a_429_is_waited_out(slack: FakeSlack, bus: Bus, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    slack.throttle_first = True
    monkeypatch.setenv("DEVOPS_ORCHESTRA_TEST_LOG", str(tmp_path / "stage.log"))
    repo = tmp_path / "shop"
    sha = commit_files(repo, {"devops_orchestra.yaml": "chatops:\n  enabled: true\n  channel: '#ship'\n"
                                                      "  notify_on: [started, stage, success, failure]\n"})
    settings = SlackSettings(bot_token=BOT, signing_secret=SIGNING, base_url=f"{slack.url}/api/")
    stop = asyncio.Event()
    tasks = [asyncio.create_task(Worker(bus, load(["tests.integration.slow_stage"]), block_s=0.1).run(stop)),
             asyncio.create_task(Follower(bus, [SlackNotifier(settings, bus)], poll_s=0.1).run(stop))]
    try:
        run, _ = await submit(bus, Commit(source=str(repo), repo="acme/shop", ref="main", sha=sha), ["slow"],
                              ["tests.integration.slow_stage"])
        await until_reported(bus, run.run_id)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    head, *replies = slack.messages
    assert slack.throttled == 1 and head["channel"] == "#ship" and "thread_ts" not in head
    assert {r["thread_ts"] for r in replies} == {head["ts"]}
    assert [r["text"].split(":")[0] for r in replies] == ["started", "slow", "✅ succeeded"]
    [update] = slack.updates  # the thread's first line says how it ended
    assert update["ts"] == head["ts"] and update["text"].endswith(": succeeded")


async def until_reported(bus: Bus, run_id: str) -> None:
    deadline = time.monotonic() + 20
    while await bus.get(REPORTED + run_id) is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_a_waiting_deploy_gets_buttons_once_and_the_first_click_decides(slack: FakeSlack, bus: Bus) -> None:
    settings = SlackSettings(bot_token=BOT, signing_secret=SIGNING, channel="#deploys", base_url=f"{slack.url}/api/")
    asked = ApprovalRequest(id=approvals.approval_id("run1", "prod"), repo="acme/shop", ref="main", sha="a" * 40,
                            run_id="run1", service="web", environment="prod")
    assert await approvals.request(bus, asked)
    stop = asyncio.Event()
    announcing = [asyncio.create_task(SlackNotifier(settings, bus).announce_approvals(stop, every_s=0.1))
                  for _ in range(2)]  # two servers: still one message
    await until(lambda: len(slack.messages) == 1)
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*announcing)
    [message] = slack.messages
    buttons = message["blocks"][1]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [("approve", asked.id), ("reject", asked.id)]

    app = webhook_app(Intake(bus, "x"), SlackEndpoints(bus, SIGNING).routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for clicks, (user, action) in enumerate([("ana", "approve"), ("bob", "reject")], 1):
            payload = {"type": "block_actions", "user": {"id": "U1", "username": user},
                       "response_url": f"{slack.url}/response/2", "actions": [{"action_id": action,
                                                                             "value": asked.id}]}
            body, headers = signed({"payload": json.dumps(payload)})
            assert (await client.post("/slack/actions", content=body, headers=headers)).status_code == 200
            await until(lambda: len(slack.responses) == clicks)  # noqa: B023 (awaited within the iteration)
    decision = await approvals.decision(bus, asked.id)
    assert decision is not None and (decision.approved, decision.by) == (True, "ana")
    assert [r["replace_original"] for r in slack.responses] == [True, True]
    second = slack.responses[1]["text"]
    assert "approved by ana" in second and "answered before you clicked" in second
    assert await approvals.pending(bus) == []


def test_the_server_takes_slash_commands_with_the_secrets_from_the_environment(slack: FakeSlack,
                                                                              tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
           "DEVOPS_ORCHESTRA_WEBHOOK_SECRET": "w", "DEVOPS_ORCHESTRA_SLACK_BOT_TOKEN": BOT,
           "DEVOPS_ORCHESTRA_SLACK_SIGNING_SECRET": SIGNING, "DEVOPS_ORCHESTRA_SLACK_URL": f"{slack.url}/api/"}
    argv = [sys.executable, "-m", "devops_orchestra", "webhooks", "serve", "--port", str(port),
            "--bus", f"memory://{tmp_path}/state.sqlite"]
    with http_server(argv, env, f"http://127.0.0.1:{port}/healthz", tmp_path / "server.log"):
        body, headers = signed({"command": "/orchestra", "text": "status", "response_url": f"{slack.url}/response/3"})
        answer = httpx.post(f"http://127.0.0.1:{port}/slack/commands", content=body, headers=headers, timeout=10)
        assert answer.status_code == 200
        deadline = time.monotonic() + 10
        while not slack.responses:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert slack.responses[0]["text"] == "no pipeline runs yet."
    log = (tmp_path / "server.log").read_text()
    assert BOT not in log and SIGNING not in log


def test_deploy_from_slack_runs_the_deploy_of_the_checkout_given(slack: FakeSlack, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    need_binaries("haproxy", "prometheus")
    from devops_orchestra.deploy import rollout
    from devops_orchestra.pipeline.config import parse

    config = webapp_config(free_port())
    shas = webapp_repo(tmp_path / "web", config)
    monkeypatch.setenv("DEVOPS_ORCHESTRA_DEPLOYS", str(tmp_path / "deploys"))  # the server's and the cleanup's
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
           "DEVOPS_ORCHESTRA_WEBHOOK_SECRET": "w", "DEVOPS_ORCHESTRA_SLACK_BOT_TOKEN": BOT,
           "DEVOPS_ORCHESTRA_SLACK_SIGNING_SECRET": SIGNING, "DEVOPS_ORCHESTRA_SLACK_URL": f"{slack.url}/api/"}
    argv = [sys.executable, "-m", "devops_orchestra", "webhooks", "serve", "--port", str(port),
            "--bus", f"memory://{tmp_path}/state.sqlite", "--deploy-from", str(tmp_path / "web")]
    try:
        with http_server(argv, env, f"http://127.0.0.1:{port}/healthz", tmp_path / "server.log"):
            body, headers = signed({"command": "/orchestra", "text": f"deploy web {shas['good']}", "user_name": "ana",
                                    "response_url": f"{slack.url}/response/4"})
            answer = httpx.post(f"http://127.0.0.1:{port}/slack/commands", content=body, headers=headers, timeout=10)
            assert answer.status_code == 200
            deadline = time.monotonic() + 60
            while not slack.responses:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.1)
    finally:
        asyncio.run(rollout.undeploy(parse(config), service="web", environment="dev"))
    text = slack.responses[0]["text"]
    assert text.startswith(f"web {shas['good']} ({shas['good'][:12]}) in dev, dep-"), text
    assert f"succeeded: {shas['good'][:12]} serves all of dev" in text, text

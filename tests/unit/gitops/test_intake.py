"""A GitHub delivery through the intake: verified before parsed, deduplicated, and turned into one run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest

from devops_orchestra.gitops import signature
from devops_orchestra.gitops.intake import Intake, source_map
from devops_orchestra.gitops.payloads import BadDelivery, parse_body
from devops_orchestra.models.events import CodePush
from devops_orchestra.models.orchestra import PipelineRun
from devops_orchestra.orchestra.bus import open_bus
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.runs import RunBook, finish

SECRET = "webhook-secret-for-tests"
SHA = "a" * 40


def push(sha: str = SHA, ref: str = "refs/heads/main", **extra: object) -> dict[str, object]:
    return {"ref": ref, "before": "b" * 40, "after": sha, "deleted": False, "pusher": {"name": "octocat"},
            "repository": {"full_name": "acme/shop", "clone_url": "https://github.com/acme/shop.git"}, **extra}


def pull_request(action: str = "opened", head_repo: str = "acme/shop") -> dict[str, object]:
    repo = {"full_name": "acme/shop", "clone_url": "https://github.com/acme/shop.git"}
    return {"action": action, "number": 7, "sender": {"login": "mallory"}, "repository": repo,
            "pull_request": {"number": 7, "base": {"repo": repo},
                             "head": {"sha": SHA, "ref": "feature",
                                      "repo": {"full_name": head_repo,
                                               "clone_url": f"https://github.com/{head_repo}.git"}}}}


def headers(body: bytes, event: str = "push", delivery: str = "d-1", secret: str = SECRET) -> dict[str, str]:
    return {"x-hub-signature-256": signature.sign(secret, body), "x-github-event": event,
            "x-github-delivery": delivery, "content-type": "application/json"}


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Bus]:
    opened = open_bus(f"memory://{tmp_path}/state.sqlite")
    yield opened
    await opened.close()


def test_githubs_documented_signature_vector() -> None:
    # docs.github.com, "Validating webhook deliveries": testing the webhook payload validation
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature.sign("It's a Secret to Everybody", b"Hello, World!") == expected
    assert signature.valid("It's a Secret to Everybody", b"Hello, World!", expected)
    assert not signature.valid("It's a Secret to Everybody", b"Hello, World?", expected)
    assert not signature.valid("It's a Secret to Everybody", b"Hello, World!", expected.removeprefix("sha256="))
    assert not signature.valid("It's a Secret to Everybody", b"Hello, World!", None)


async def test_a_bad_or_missing_signature_is_401_and_publishes_nothing(bus: Bus) -> None:
    intake = Intake(bus, SECRET)
    body = json.dumps(push()).encode()
    wrong = await intake.receive(headers(body, secret="another secret"), body)
    missing = await intake.receive({k: v for k, v in headers(body).items() if k != "x-hub-signature-256"}, body)
    garbage = await intake.receive(headers(b"not even json"), b"{")  # signed for another body: not parsed
    assert (wrong.status, missing.status, garbage.status) == (401, 401, 401)
    assert "DEVOPS_ORCHESTRA_WEBHOOK_SECRET" in wrong.message and SECRET not in wrong.message
    assert (await bus.status()).topics.get("code_push", 0) == 0
    assert await RunBook(bus).newest(10) == []


async def test_a_push_queues_one_run_and_its_redelivery_starts_nothing(bus: Bus) -> None:
    intake = Intake(bus, SECRET, source_map(["acme/shop=/srv/git/shop.git"]), ["analysis"])
    body = json.dumps(push()).encode()
    first = await intake.receive(headers(body), body)
    again = await intake.receive(headers(body), body)  # GitHub's "Redeliver": same delivery id
    assert (first.status, again.status) == (202, 200) and "received before" in again.message
    runs = await RunBook(bus).newest(10)
    assert [(r.run_id, r.repo, r.ref, r.sha, r.source) for r in runs] == [
        (first.run_id, "acme/shop", "main", SHA, "file:///srv/git/shop.git")]
    assert (await bus.status()).topics["code_push"] == 1
    # the same commit through another delivery (the pull request of that branch) is the same run, not a second
    other = json.dumps(pull_request()).encode()
    answer = await intake.receive(headers(other, "pull_request", "d-2"), other)
    assert (answer.status, answer.run_id) == (202, first.run_id) and "exists already" in answer.message
    assert (await bus.status()).topics["code_push"] == 1


async def test_a_pull_request_from_a_fork_runs_marked_as_such(bus: Bus, tmp_path: Path) -> None:
    intake = Intake(bus, SECRET)
    body = json.dumps(pull_request(head_repo="mallory/shop")).encode()
    answer = await intake.receive(headers(body, "pull_request"), body)
    assert answer.status == 202
    run = await RunBook(bus).require(str(answer.run_id))
    assert (run.repo, run.ref, run.source) == ("acme/shop", "pull/7", "https://github.com/acme/shop.git")
    await bus.ensure_group("code_push", "t")
    [delivery] = await bus.read("code_push", "t", "c", count=1, block_s=0.1)
    assert isinstance(delivery.event.payload, CodePush)
    assert delivery.event.payload.from_fork and delivery.event.payload.pusher == "mallory"


@pytest.mark.parametrize(("event", "document", "status", "reason"), [
    ("push", b"{not json", 400, "not JSON"),
    ("push", json.dumps({"ref": "refs/heads/main"}).encode(), 400, "after: Field required"),
    ("push", json.dumps(push(sha="abc")).encode(), 400, "not a full commit sha"),
    ("push", json.dumps(push(deleted=True)).encode(), 202, "deleted"),
    ("pull_request", json.dumps(pull_request("closed")).encode(), 202, "only opened, synchronize, reopened"),
    ("issues", b"{}", 202, "start nothing"),
    ("ping", b"{}", 200, "pong"),
])
async def test_what_starts_nothing_says_why(bus: Bus, event: str, document: bytes, status: int, reason: str) -> None:
    answer = await Intake(bus, SECRET).receive(headers(document, event), document)
    assert (answer.status, reason in answer.message) == (status, True), answer
    assert await RunBook(bus).newest(10) == []


async def test_a_malformed_delivery_can_be_sent_again_once_fixed(bus: Bus) -> None:
    intake = Intake(bus, SECRET)
    assert (await intake.receive(headers(b"{"), b"{")).status == 400
    body = json.dumps(push()).encode()
    assert (await intake.receive(headers(body), body)).status == 202  # the same delivery id was not spent


def test_form_encoded_deliveries_are_read_too() -> None:
    body = ("payload=" + quote(json.dumps({"zen": "Keep it logically awesome."}))).encode()
    assert parse_body(body, "application/x-www-form-urlencoded") == {"zen": "Keep it logically awesome."}
    with pytest.raises(BadDelivery, match="no payload field"):
        parse_body(b"other=1", "application/x-www-form-urlencoded")


async def test_a_pull_request_opened_after_its_commit_ran_is_told_of_the_finished_run(bus: Bus) -> None:
    told: list[str] = []

    async def tell(run: PipelineRun) -> None:
        told.append(run.run_id)

    intake = Intake(bus, SECRET, finished_before=tell)
    body = json.dumps(push()).encode()
    run_id = str((await intake.receive(headers(body), body)).run_id)
    await RunBook(bus).update(run_id, lambda r: finish(r, "succeeded"))
    opened = json.dumps(pull_request()).encode()
    assert (await intake.receive(headers(opened, "pull_request", "d-2"), opened)).run_id == run_id
    await asyncio.sleep(0)
    assert told == [run_id]


async def test_an_unreachable_bus_is_503_so_github_can_redeliver() -> None:
    down = open_bus("redis://:hunter2-password@127.0.0.1:9/0")  # nothing listens on port 9
    try:
        body = json.dumps(push()).encode()
        answer = await Intake(down, SECRET).receive(headers(body), body)
    finally:
        await down.close()
    assert answer.status == 503 and "Redeliver" in answer.message and "hunter2" not in answer.message


async def test_in_process_the_runs_are_created_just_after_the_answers_in_order(bus: Bus) -> None:
    intake = Intake(bus, SECRET, in_process=True)
    bodies = [json.dumps(push(sha=f"{n:040x}")).encode() for n in range(1, 6)]
    answers = [await intake.receive(headers(b, delivery=f"d-{n}"), b) for n, b in enumerate(bodies)]
    assert [a.status for a in answers] == [202] * 5 and all(a.run_id is None for a in answers)
    assert (await intake.receive(headers(bodies[0], delivery="d-0"), bodies[0])).status == 200  # still deduplicated
    await intake.close()
    runs = await RunBook(bus).newest(10)
    assert [r.sha for r in reversed(runs)] == [f"{n:040x}" for n in range(1, 6)]


async def test_in_process_a_delivery_whose_run_was_never_made_is_started_by_its_redelivery(bus: Bus) -> None:
    body = json.dumps(push()).encode()
    dying = Intake(bus, SECRET, in_process=True)
    assert (await dying.receive(headers(body, delivery="d-1"), body)).status == 202
    # The process dies here, before its drainer made the run: nothing says the delivery was received.
    assert dying._drainer is not None
    dying._drainer.cancel()
    restarted = Intake(bus, SECRET, in_process=True)
    assert (await restarted.receive(headers(body, delivery="d-1"), body)).status == 202  # GitHub's Redeliver
    await restarted.close()
    assert len(await RunBook(bus).newest(10)) == 1

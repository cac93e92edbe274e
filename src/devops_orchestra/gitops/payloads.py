"""What a verified GitHub delivery asks for: the commit to run the pipeline on, or nothing (with why).

Only the fields we use are read from `push` and `pull_request` payloads; anything else in them is ignored, and
a payload that lacks what we need is a BadDelivery naming the field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, ValidationError

from devops_orchestra.core.errors import OrchestraError

EVENTS = ("push", "pull_request")
PR_ACTIONS = ("opened", "synchronize", "reopened")
NO_COMMIT = "0" * 40  # a push's `after` when the ref was deleted


class BadDelivery(OrchestraError):
    """A delivery that is not what its headers say: answered 400 with this message."""


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Repository(_Part):
    full_name: str
    clone_url: str


class User(_Part):
    login: str | None = None
    name: str | None = None


class Push(_Part):
    ref: str
    before: str | None = None
    after: str
    deleted: bool = False
    repository: Repository
    pusher: User | None = None


class Head(_Part):
    sha: str
    ref: str
    repo: Repository | None = None  # null when the fork was deleted


class Base(_Part):
    repo: Repository


class PullRequestBody(_Part):
    number: int
    head: Head
    base: Base


class PullRequest(_Part):
    action: str
    number: int
    pull_request: PullRequestBody
    repository: Repository
    sender: User | None = None


@dataclass(frozen=True)
class Trigger:
    """The commit a delivery starts a run for."""

    repo: str  # owner/name of the repository receiving the push or pull request
    clone_url: str
    ref: str  # a branch or tag name, or pull/N for a pull request
    sha: str
    before: str | None = None
    pusher: str | None = None
    from_fork: bool = False
    pull_request: int | None = None


def parse_body(body: bytes, content_type: str) -> object:
    """The JSON document of a delivery: the body itself, or its `payload` form field (GitHub's
    application/x-www-form-urlencoded content type)."""
    try:
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            payload = parse_qs(body.decode("utf-8"), strict_parsing=True).get("payload")
            if not payload:
                raise BadDelivery("the form-encoded body has no payload field")
            return json.loads(payload[0])
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadDelivery(f"the body is not JSON: {exc}") from None


def trigger(event: str, document: object) -> Trigger | str:
    """The run a push or pull_request asks for, or why it asks for none."""
    try:
        if event == "push":
            return _push(Push.model_validate(document))
        return _pull_request(PullRequest.model_validate(document))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'the body'}: {e['msg']}" for e in exc.errors()[:3])
        raise BadDelivery(f"the {event} payload lacks what a run needs: {problems}") from None


def _push(push: Push) -> Trigger | str:
    if push.deleted or push.after == NO_COMMIT:
        return f"{push.ref} was deleted: nothing to run"
    name = push.ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
    return Trigger(repo=push.repository.full_name, clone_url=push.repository.clone_url, ref=name,
                   sha=_sha(push.after), before=None if push.before in (None, NO_COMMIT) else push.before,
                   pusher=push.pusher.name if push.pusher else None)


def _pull_request(event: PullRequest) -> Trigger | str:
    if event.action not in PR_ACTIONS:
        return f"pull request {event.action}: only {', '.join(PR_ACTIONS)} start a run"
    pr = event.pull_request
    head_repo = pr.head.repo.full_name if pr.head.repo else None
    # The base repository serves the head commit of every pull request (refs/pull/N/head), forks' included.
    return Trigger(repo=pr.base.repo.full_name, clone_url=pr.base.repo.clone_url, ref=f"pull/{pr.number}",
                   sha=_sha(pr.head.sha), pusher=event.sender.login if event.sender else None,
                   from_fork=head_repo != pr.base.repo.full_name, pull_request=pr.number)


def _sha(value: str) -> str:
    if len(value) != 40 or any(c not in "0123456789abcdef" for c in value):
        raise BadDelivery(f"{value[:60]!r} is not a full commit sha")
    return value

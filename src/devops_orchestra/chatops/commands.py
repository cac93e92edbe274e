"""Slack's requests to us: the `/orchestra` slash command (status, deploy, rollback) and the approval buttons.

Each is checked first (X-Slack-Signature over the raw body, five minutes; bad -> 401), answered at once (Slack
gives up after 3 s), and its work done afterwards, the result posted to the request's response_url.

Deploys and rollbacks are not done here: the command takes them as injected actions (DeployActions), wired by
the command line; a server without them says so."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs

import structlog
from slack_sdk.webhook import WebhookClient
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devops_orchestra.chatops import outcome
from devops_orchestra.chatops.slack import valid_signature
from devops_orchestra.gitops.app import read_body
from devops_orchestra.gitops.secrets import REDACT
from devops_orchestra.orchestra import approvals
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.runs import RunBook

log = structlog.get_logger("devops_orchestra.chatops")
USAGE = ("`/orchestra status [OWNER/NAME]` — the newest pipeline runs\n"
         "`/orchestra deploy SERVICE REF [ENV]` — deploy a branch, tag or commit\n"
         "`/orchestra rollback SERVICE [ENV]` — back to the previous release")
NO_DEPLOYS = ("deploys are not enabled on this server: it was started without the deploy integration. Deploy with "
              "`devops-orchestra` from a shell, or ask whoever runs `devops-orchestra webhooks serve` to enable it.")
MAX_BODY = 64 * 1024


class DeployActions(Protocol):
    """What /orchestra deploy and rollback do; each returns the line to show the person who asked."""

    async def deploy(self, service: str, ref: str, environment: str | None, by: str) -> str: ...

    async def rollback(self, service: str, environment: str | None, by: str) -> str: ...


@dataclass
class SlackEndpoints:
    state: Bus
    signing_secret: str
    actions: DeployActions | None = None
    post: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None  # to a response_url; default slack-sdk
    _work: set[asyncio.Task[None]] = field(default_factory=set)

    def routes(self) -> list[Route]:
        return [Route("/slack/commands", self.command, methods=["POST"]),
                Route("/slack/actions", self.action, methods=["POST"])]

    async def _verified(self, request: Request) -> dict[str, str] | None:
        body = await read_body(request, MAX_BODY)
        if body is None or not valid_signature(self.signing_secret, body, request.headers.get(
                "x-slack-request-timestamp"), request.headers.get("x-slack-signature")):
            return None
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}

    async def command(self, request: Request) -> Response:
        form = await self._verified(request)
        if form is None:
            return _refused()
        words = form.get("text", "").split()
        who = form.get("user_name") or form.get("user_id") or "someone"
        self._later(form.get("response_url", ""), self._run(words, who), in_channel=bool(words[:1] == ["deploy"]))
        return JSONResponse({"response_type": "ephemeral", "text": f"working on `/orchestra {' '.join(words)}`…"})

    async def action(self, request: Request) -> Response:
        form = await self._verified(request)
        if form is None:
            return _refused()
        try:
            payload = json.loads(form.get("payload", ""))
            [clicked] = payload["actions"][:1]
            approval, approved = clicked["value"], clicked["action_id"] == "approve"
            user = payload.get("user") or {}
            who = user.get("username") or user.get("name") or user.get("id") or "someone"
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "not a block_actions payload with an approve or reject button"}, 400)

        async def decide() -> str:
            answer = await approvals.decide(self.state, approval, approved=approved, by=who)
            verdict = "approved" if answer.approved else "rejected"
            late = "" if answer.by == who and answer.approved == approved else " (answered before you clicked)"
            return f"Deploy {approval}: {verdict} by {answer.by}{late}"

        self._later(str(payload.get("response_url", "")), decide(), replace=True)
        return Response(status_code=200)

    def _later(self, response_url: str, work: Awaitable[str], *, in_channel: bool = False,
               replace: bool = False) -> None:
        async def go() -> None:
            try:
                text = await work
            except Exception as exc:
                text = f"that did not work: {REDACT(f'{type(exc).__name__}: {exc}')}"
                log.warning("slack command failed", error=text)
            body: dict[str, Any] = {"text": text, "response_type": "in_channel" if in_channel else "ephemeral"}
            if replace:
                body["replace_original"] = True
            if response_url:
                await (self.post or _post)(response_url, body)

        task = asyncio.create_task(go())
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _run(self, words: list[str], who: str) -> str:
        verb, rest = (words[0].lower(), words[1:]) if words else ("help", [])
        if verb == "status" and len(rest) <= 1:
            return await self._status(rest[0] if rest else None)
        if verb == "deploy" and len(rest) in (2, 3):
            return NO_DEPLOYS if self.actions is None else await self.actions.deploy(
                rest[0], rest[1], rest[2] if len(rest) > 2 else None, who)
        if verb == "rollback" and len(rest) in (1, 2):
            return NO_DEPLOYS if self.actions is None else await self.actions.rollback(
                rest[0], rest[1] if len(rest) > 1 else None, who)
        return ("" if verb == "help" else f"I do not know `{' '.join(words)}`.\n") + USAGE

    async def _status(self, repo: str | None) -> str:
        runs = [r for r in await RunBook(self.state).newest(50) if repo is None or r.repo.lower() == repo.lower()]
        if not runs:
            return f"no pipeline runs{' of ' + repo if repo else ''} yet."
        return "\n".join(f"{outcome.RUN_ICON.get(r.state, '')} `{r.run_id}` {r.repo} `{r.ref}` `{r.sha[:12]}` "
                         f"{r.state} — " + ", ".join(f"{s.name} {s.state}" for s in r.stages) for r in runs[:10])


def _refused() -> Response:
    return JSONResponse({"error": "X-Slack-Signature is missing, wrong or older than five minutes: check the "
                                  "app's signing secret (DEVOPS_ORCHESTRA_SLACK_SIGNING_SECRET) and the clock"}, 401)


async def _post(url: str, body: dict[str, Any]) -> None:
    answer = await asyncio.to_thread(WebhookClient(url, timeout=10).send_dict, body)
    if answer.status_code >= 400:
        log.warning("response_url refused the answer", status=answer.status_code)

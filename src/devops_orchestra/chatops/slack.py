"""Slack through slack-sdk: a thread per pipeline run with a message for each event class the repository's
`chatops.notify_on` lists, and Approve/Reject buttons for every deploy waiting for a person.

slack-sdk's WebClient is synchronous (its async one needs aiohttp): each call runs in a thread. Its
RateLimitErrorRetryHandler waits out a 429's Retry-After and tries again; connection resets are retried too.
What was sent is marked once in the bus's shared state, so a restarted server or a second follower never posts
a message twice; the thread's ts is kept there too."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import structlog
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.signature import Clock, SignatureVerifier

from devops_orchestra.chatops import outcome
from devops_orchestra.gitops.secrets import REDACT
from devops_orchestra.models.orchestra import ApprovalRequest, PipelineRun
from devops_orchestra.orchestra import approvals, workspaces
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.retention import retention
from devops_orchestra.orchestra.worker import config_of
from devops_orchestra.pipeline.config import ChatOps

log = structlog.get_logger("devops_orchestra.chatops")
API = "https://slack.com/api/"
DEFAULT_NOTIFY = ["failure"]  # as the generated CI workflows do
EVENT_CLASSES = {  # what chatops.notify_on may list
    "started": "a run's first stage begins",
    "stage": "each stage ends (with its one-line summary)",
    "success": "a run succeeds",
    "failure": "a run fails, or a gate stops it",
    "cancelled": "a run is superseded by a newer push to its branch",
    "deploy": "the deploy stage ends",
}
RUN_END = {"succeeded": "success", "failed": "failure", "stopped by gate": "failure", "superseded": "cancelled"}
WINDOW_S = 300  # Slack's signatures are good for five minutes


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str | None = None
    signing_secret: str | None = None
    channel: str | None = None  # for repositories whose devops_orchestra.yaml has no chatops section
    base_url: str = API

    @property
    def configured(self) -> bool:
        return bool(self.bot_token and self.signing_secret)


def valid_signature(secret: str, body: bytes, timestamp: str | None, signature: str | None,
                    now: float | None = None) -> bool:
    """X-Slack-Signature v0: HMAC-SHA256 of `v0:{timestamp}:{body}`, within five minutes of now (constant time)."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    verifier = SignatureVerifier(secret) if now is None else SignatureVerifier(secret, clock=_At(now))
    return verifier.is_valid(body, timestamp, signature)


class _At(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def web_client(settings: SlackSettings) -> WebClient:
    return WebClient(token=settings.bot_token, base_url=settings.base_url, timeout=30, retry_handlers=[
        ConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=3)])


@dataclass
class SlackNotifier:
    """A sink of the run follower, and the announcer of approvals (announce_approvals)."""

    settings: SlackSettings
    state: Bus
    client: WebClient = field(init=False)
    _config: dict[str, ChatOps] = field(default_factory=dict)  # per run

    def __post_init__(self) -> None:
        self.client = web_client(self.settings)

    async def update(self, run: PipelineRun) -> None:
        chat = await self._chatops(run)
        channel = chat.channel or self.settings.channel
        if not chat.enabled or not channel:
            return
        wanted = set(chat.notify_on or DEFAULT_NOTIFY)
        for event, text in events_of(run):
            if event.split(":")[0] in wanted and await self.state.set_once(
                    f"slack:sent:{run.run_id}:{event}", "1", ttl_s=retention().runs_s):
                await self._in_thread(run, channel, text)
        thread = await self.state.get(f"slack:thread:{run.run_id}")
        if run.finished and thread and await self.state.set_once(f"slack:sent:{run.run_id}:head", "1",
                                                                 ttl_s=retention().runs_s):
            where = json.loads(thread)  # the thread's first line shows how the run ended
            await asyncio.to_thread(self.client.chat_update, channel=where["channel"], ts=where["ts"],
                                    text=head_line(run))

    async def _chatops(self, run: PipelineRun) -> ChatOps:
        """The repository's chatops section at the run's commit; the server's defaults when it has none."""
        if run.run_id not in self._config:
            try:
                checkout = await workspaces.checkout(run.source, run.sha)
                config, _ = await asyncio.to_thread(config_of, checkout)
                given = "chatops" in config.model_fields_set
            except Exception as exc:  # unreadable: the defaults, and the stage itself reports the broken file
                log.warning("cannot read the chatops section", run=run.run_id, error=REDACT(str(exc)))
                given = False
            self._config[run.run_id] = config.chatops if given else ChatOps(enabled=True,
                                                                            channel=self.settings.channel)
        return self._config[run.run_id]

    async def _in_thread(self, run: PipelineRun, channel: str, text: str) -> None:
        key = f"slack:thread:{run.run_id}"
        thread = await self.state.get(key)
        if thread is None:
            posted = await asyncio.to_thread(self.client.chat_postMessage, channel=channel, text=head_line(run))
            thread = json.dumps({"channel": posted["channel"], "ts": posted["ts"]})
            if not await self.state.set_once(key, thread, ttl_s=retention().runs_s):
                thread = await self.state.get(key) or thread  # another follower started it first
        where = json.loads(thread)
        await asyncio.to_thread(self.client.chat_postMessage, channel=where["channel"], text=text,
                                thread_ts=where["ts"])

    async def announce_approvals(self, stop: asyncio.Event, every_s: float = 2.0) -> None:
        """Post each pending approval once, with its buttons, until stop is set."""
        while not stop.is_set():
            try:
                for asked in await approvals.pending(self.state):
                    if await self.state.set_once(f"slack:approval:{asked.id}", "1", ttl_s=approvals.KEEP_S):
                        await self._ask(asked)
            except Exception as exc:
                log.warning("cannot announce approvals", error=REDACT(f"{type(exc).__name__}: {exc}"))
            try:
                await asyncio.wait_for(stop.wait(), every_s)
            except TimeoutError:
                pass

    async def _ask(self, asked: ApprovalRequest) -> None:
        run_chat = self._config.get(asked.run_id)
        channel = (run_chat.channel if run_chat else None) or self.settings.channel
        if not channel:
            log.warning("an approval waits but no Slack channel is known: give --slack-channel", id=asked.id)
            return
        text = approval_text(asked)
        await asyncio.to_thread(self.client.chat_postMessage, channel=channel, text=text, blocks=approval_blocks(
            asked, text))


def events_of(run: PipelineRun) -> list[tuple[str, str]]:
    """(event key, message) for what the run has reached: each key is sent once (`class` or `class:detail`)."""
    found = []
    if run.state != "queued":
        found.append(("started", f"started: {', '.join(s.name for s in run.stages)}"))
    for s in run.stages:
        if s.state in ("succeeded", "failed"):
            found.append((f"stage:{s.name}", outcome.stage_line(s)))
            if s.name == "deploy":
                found.append(("deploy", f"deploy {s.state}: {s.summary or s.error or ''}"))
    if run.finished:
        why = run.gate.reason if run.gate else run.error or (f"by {run.superseded_by[:12]}" if run.superseded_by
                                                             else "")
        found.append((RUN_END[run.state], f"{outcome.RUN_ICON.get(run.state, '')} {run.state}"
                      + (f": {REDACT(why)}" if why else "")))
    return found


def head_line(run: PipelineRun) -> str:
    return (f"{outcome.RUN_ICON.get(run.state, '')} *{run.repo}* `{run.ref}` `{run.sha[:12]}` — pipeline run "
            f"`{run.run_id}`: {run.state}")


def approval_text(asked: ApprovalRequest) -> str:
    return (f"Deploy of *{asked.service}* to *{asked.environment}* waits for approval: {asked.repo} `{asked.ref}` "
            f"`{asked.sha[:12]}` (run `{asked.run_id}`)")


def approval_blocks(asked: ApprovalRequest, text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "actions", "block_id": "approval", "elements": [
                {"type": "button", "action_id": "approve", "style": "primary", "value": asked.id,
                 "text": {"type": "plain_text", "text": "Approve"}},
                {"type": "button", "action_id": "reject", "style": "danger", "value": asked.id,
                 "text": {"type": "plain_text", "text": "Reject"}}]}]

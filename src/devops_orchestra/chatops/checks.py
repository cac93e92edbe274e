"""A run's results on GitHub: a check run per stage (queued -> in_progress -> completed with its conclusion, the
findings as annotations, 50 a request), one PR comment with the verdict (found again by a hidden marker and
edited in place), and commit statuses instead when the credentials may not write checks (403).

A stage's check run is created once: its id is kept in the bus's shared state, and it carries an external id
naming (repository, sha, stage) - the identity of the stage's idempotency key (the worker adds the hash of
devops_orchestra.yaml, which the sha fixes). A stage retried after its worker died, or a reporter restarted,
finds the same check run (in the state, else by that external id on GitHub) and updates it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from githubkit.exception import RequestFailed

from devops_orchestra.chatops import outcome, sarif_upload
from devops_orchestra.chatops.github import Client, GitHubClients
from devops_orchestra.core.store import Store
from devops_orchestra.gitops.secrets import REDACT
from devops_orchestra.models import Finding
from devops_orchestra.models.events import CodeAnalysisResult
from devops_orchestra.models.orchestra import PipelineRun, StageRecord
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.retention import retention

log = structlog.get_logger("devops_orchestra.chatops")
MARKER = "<!-- devops-orchestra:verdict -->"
CHECK_PREFIX = "devops-orchestra"
ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit per create or update
Conclusion = Literal["success", "failure", "neutral", "cancelled", "skipped"]
LEVEL = {"critical": "failure", "high": "failure", "medium": "warning", "low": "notice", "info": "notice"}


def external_id(run: PipelineRun, stage: str) -> str:
    return f"{run.repo}:{run.sha}:{stage}"


def conclusion(run: PipelineRun, s: StageRecord, result: CodeAnalysisResult | None) -> Conclusion | None:
    """None while the stage has not ended."""
    if s.state == "succeeded":
        if s.name == "analysis" and result is not None:
            return {"safe to merge": "success", "plan only": "neutral"}.get(result.verdict, "failure")  # type: ignore[return-value]
        return "success"
    if s.state == "failed":
        return "failure"
    if s.state == "not reached":
        return "cancelled" if run.state == "superseded" else "skipped"
    return None


def to_annotations(findings: list[Finding]) -> list[dict[str, Any]]:
    return [{"path": f.location.path, "start_line": f.location.start_line,
             "end_line": max(f.location.end_line, f.location.start_line), "annotation_level": LEVEL[f.severity],
             "title": f"{f.rule_id}: {f.title}"[:255], "message": (f.message or f.title)[:4000]}
            for f in findings if f.location.path and f.location.start_line > 0]


@dataclass
class GitHubReporter:
    """A sink of the run follower (follow.py): called with each new state of a run."""

    clients: GitHubClients
    state: Bus
    store: Store | None = None  # the local run store, where the analysis's findings are (for annotations)
    _sent: dict[tuple[str, str], tuple[object, ...]] = field(default_factory=dict)
    _statuses_only: set[str] = field(default_factory=set)  # repositories whose credentials cannot write checks
    upload_sarif: bool = True  # the analysis's findings to code scanning as well
    sarif_poll_s: float = 5.0
    _commented: dict[str, str] = field(default_factory=dict)  # the last text of each PR comment
    _uploads: set[asyncio.Task[str | None]] = field(default_factory=set)

    async def update(self, run: PipelineRun) -> None:
        if run.repo.count("/") != 1:
            return  # a local repository: nothing of it is on GitHub
        owner, name = run.repo.split("/")
        gh = await self.clients.for_repo(owner, name)
        result = await outcome.analysis(self.state, run)
        for s in run.stages:
            await self._stage(gh, run, s, result)
        if self.upload_sarif and self.store is not None and result is not None and result.report_run_id:
            task = asyncio.create_task(sarif_upload.upload(gh, self.state, self.store, run, result.report_run_id,
                                                           poll_s=self.sarif_poll_s))  # polled meanwhile
            self._uploads.add(task)
            task.add_done_callback(self._uploads.discard)
        if run.finished:
            await self._comment(gh, run, result)

    async def _stage(self, gh: Client, run: PipelineRun, s: StageRecord, result: CodeAnalysisResult | None) -> None:
        ended = conclusion(run, s, result)
        status = "completed" if ended else "in_progress" if s.state == "running" else "queued"
        shape = (status, ended, s.attempts, s.error)
        if self._sent.get((run.run_id, s.name)) == shape:
            return
        owner, name = run.repo.split("/")
        if run.repo not in self._statuses_only:
            try:
                await self._check(gh, run, s, status, ended, result)
            except RequestFailed as exc:
                if exc.response.status_code != 403:
                    raise
                log.warning("cannot write check runs: commit statuses instead", repo=run.repo,
                            error=REDACT(str(exc.response.text)[:300]))
                self._statuses_only.add(run.repo)
        if run.repo in self._statuses_only:
            state = {None: "pending", "success": "success", "neutral": "success", "skipped": "success"}.get(
                ended, "failure" if ended != "cancelled" else "error")
            await gh.arequest("POST", f"/repos/{owner}/{name}/statuses/{run.sha}", json={
                "state": state, "context": f"{CHECK_PREFIX}/{s.name}", "description": outcome.stage_line(s)[:140]})
        self._sent[(run.run_id, s.name)] = shape

    async def _check(self, gh: Client, run: PipelineRun, s: StageRecord, status: str, ended: Conclusion | None,
                     result: CodeAnalysisResult | None) -> None:
        owner, name = run.repo.split("/")
        check_id, created = await self._check_id(gh, run, s.name)
        if created and status == "queued":
            return  # created queued: nothing more to say yet
        title = outcome.stage_line(s)[:255]
        summary = outcome.analysis_summary(result) if s.name == "analysis" and result and ended else title
        output = {"title": title, "summary": summary[:65000]}
        found = self._findings(result) if s.name == "analysis" and ended else []
        body: dict[str, Any] = {"status": status, "output": {**output, "annotations": found[:ANNOTATIONS_PER_REQUEST]}}
        if status == "in_progress" and s.started_at:
            body["started_at"] = s.started_at
        if ended:
            body |= {"conclusion": ended, "completed_at": s.finished_at or run.updated_at}
        path = f"/repos/{owner}/{name}/check-runs/{check_id}"
        await gh.arequest("PATCH", path, json=body)
        for start in range(ANNOTATIONS_PER_REQUEST, len(found), ANNOTATIONS_PER_REQUEST):  # GitHub appends them
            chunk = found[start:start + ANNOTATIONS_PER_REQUEST]
            await gh.arequest("PATCH", path, json={"output": {**output, "annotations": chunk}})

    async def _check_id(self, gh: Client, run: PipelineRun, stage: str) -> tuple[int, bool]:
        """The stage's check run, and whether this call created it."""
        key = f"github:check:{external_id(run, stage)}"
        kept = await self.state.get(key)
        if kept is not None:
            return int(kept), False
        owner, name = run.repo.split("/")
        check_name = f"{CHECK_PREFIX}/{stage}"
        listed = await gh.rest.checks.async_list_for_ref(owner, name, run.sha, check_name=check_name, filter_="all")
        ids = [c["id"] for c in listed.json()["check_runs"] if c.get("external_id") == external_id(run, stage)]
        if ids:
            check_id, created = ids[0], False
        else:
            made = await gh.rest.checks.async_create(owner, name, name=check_name, head_sha=run.sha,
                                                     external_id=external_id(run, stage), status="queued")
            check_id, created = made.json()["id"], True
        await self.state.put(key, str(check_id), ttl_s=retention().effects_s)
        return check_id, created

    def _findings(self, result: CodeAnalysisResult | None) -> list[dict[str, Any]]:
        if self.store is None or result is None or result.report_run_id is None:
            return []
        return to_annotations(self.store.findings(result.report_run_id) or [])

    async def _comment(self, gh: Client, run: PipelineRun, result: CodeAnalysisResult | None) -> None:
        owner, name = run.repo.split("/")
        text = comment_body(run, result)
        for number in await self._pull_requests(gh, run):
            key = f"github:comment:{run.repo}#{number}"
            if self._commented.get(key) == text:
                continue
            comment_id = await self.state.get(key) or await self._find_comment(gh, owner, name, number)
            if comment_id is not None:
                await gh.rest.issues.async_update_comment(owner, name, int(comment_id), body=text)
            else:
                made = await gh.rest.issues.async_create_comment(owner, name, number, body=text)
                comment_id = str(made.json()["id"])
            await self.state.put(key, str(comment_id), ttl_s=retention().runs_s)
            self._commented[key] = text

    async def _pull_requests(self, gh: Client, run: PipelineRun) -> list[int]:
        if run.ref.startswith("pull/") and run.ref.removeprefix("pull/").isdigit():
            return [int(run.ref.removeprefix("pull/"))]
        owner, name = run.repo.split("/")
        listed = await gh.rest.repos.async_list_pull_requests_associated_with_commit(owner, name, run.sha)
        return [pr["number"] for pr in listed.json() if pr.get("state") == "open"]

    async def _find_comment(self, gh: Client, owner: str, name: str, number: int) -> str | None:
        for page in range(1, 11):  # the newest 1000 comments: ours is usually among the first
            answer = await gh.arequest("GET", f"/repos/{owner}/{name}/issues/{number}/comments",
                                       params={"per_page": 100, "page": page})
            listed: list[dict[str, Any]] = answer.json()
            for c in listed:
                if MARKER in (c.get("body") or ""):
                    return str(c["id"])
            if len(listed) < 100:
                return None
            await asyncio.sleep(0)
        return None


def comment_body(run: PipelineRun, result: CodeAnalysisResult | None) -> str:
    verdict = outcome.verdict(run, result)
    lines = [MARKER, f"### devops-orchestra: {outcome.RUN_ICON.get(run.state, '')} {verdict}", "",
             f"Commit `{run.sha[:12]}` on `{run.ref}` — run `{run.run_id}`, {run.state}."]
    if result is not None:
        lines += ["", outcome.analysis_summary(result)]
    if run.gate is not None:
        lines += ["", f"Stopped by gate **{run.gate.gate}**: {run.gate.reason}"]
    if run.error:
        lines += ["", f"Error: {REDACT(run.error)}"]
    lines += ["", "| stage | state |", "|---|---|"]
    lines += [f"| {s.name} | {outcome.stage_line(s).removeprefix(s.name + ': ')} |" for s in run.stages]
    lines += ["", "_This comment is edited in place on every push._"]
    return "\n".join(lines)

"""The analysis's findings to GitHub code scanning: the review report as SARIF (render/sarif.py), gzip-compressed
and base64-encoded as the API wants, uploaded once per commit, then its processing status polled until GitHub
has taken it in (or says why not)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json

import structlog
from githubkit.exception import RequestFailed

from devops_orchestra.chatops.github import Client
from devops_orchestra.core.store import Store
from devops_orchestra.gitops.secrets import REDACT
from devops_orchestra.models import ReviewReport
from devops_orchestra.models.orchestra import PipelineRun
from devops_orchestra.orchestra.bus.base import Bus
from devops_orchestra.orchestra.retention import retention
from devops_orchestra.render.sarif import to_sarif

log = structlog.get_logger("devops_orchestra.chatops")


def git_ref(ref: str) -> str:
    """The full ref code scanning files the results under: a pull request's head, else a branch."""
    if ref.startswith("pull/"):
        return f"refs/{ref}/head"
    return ref if ref.startswith("refs/") else f"refs/heads/{ref}"


def encoded(report: ReviewReport) -> str:
    return base64.b64encode(gzip.compress(json.dumps(to_sarif(report)).encode())).decode()


async def upload(gh: Client, state: Bus, store: Store, run: PipelineRun, report_run_id: str, *,
                 poll_s: float = 5.0, timeout_s: float = 300.0) -> str | None:
    """Upload the run's review report once; GitHub's last processing status ("complete", "failed", "pending"), or
    None when there was nothing to upload or it was uploaded before."""
    report = await asyncio.to_thread(store.report, report_run_id, ReviewReport)
    key = f"github:sarif:{run.repo}@{run.sha}"
    if report is None or not await state.set_once(key, report_run_id, ttl_s=retention().effects_s):
        return None
    owner, name = run.repo.split("/")
    try:
        made = await gh.arequest("POST", f"/repos/{owner}/{name}/code-scanning/sarifs", json={
            "commit_sha": run.sha, "ref": git_ref(run.ref), "sarif": encoded(report), "tool_name": "devops-orchestra"})
    except RequestFailed as exc:  # code scanning off for the repository, or the token may not write it
        log.warning("cannot upload SARIF", repo=run.repo, status=exc.response.status_code,
                    error=REDACT(exc.response.text[:300]))
        return "failed"
    sarif_id = made.json()["id"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        status = (await gh.arequest("GET", f"/repos/{owner}/{name}/code-scanning/sarifs/{sarif_id}")).json()
        processing = str(status.get("processing_status", "pending"))
        if processing != "pending" or loop.time() > deadline:
            break
        await asyncio.sleep(poll_s)
    if processing == "failed":
        log.warning("GitHub could not process the SARIF", repo=run.repo, errors=status.get("errors"))
    else:
        log.info("SARIF uploaded", repo=run.repo, sha=run.sha, status=processing)
    return processing

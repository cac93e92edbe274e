"""What a run looks like on GitHub and in Slack: conclusions, annotations, the PR comment, the Slack events, and
secrets kept out of all of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from devops_orchestra.chatops.checks import MARKER, comment_body, conclusion, to_annotations
from devops_orchestra.chatops.sarif_upload import git_ref
from devops_orchestra.chatops.slack import events_of
from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.gitops.secrets import Redactor, read_secret
from devops_orchestra.models import Finding, Location, Remediation, Severity
from devops_orchestra.models.events import CodeAnalysisResult
from devops_orchestra.models.orchestra import GateStop, PipelineRun, StageRecord

BAD = CodeAnalysisResult(verdict="needs changes", reasons=["2 high findings"], findings=2, by_severity={"high": 2})


def run(state: str = "stopped by gate", **stages: str) -> PipelineRun:
    return PipelineRun(run_id="r1", repo="acme/shop", ref="pull/7", sha="c" * 40, source="x", state=state,  # type: ignore[arg-type]
                       stages=[StageRecord(name=n, state=s) for n, s in stages.items()],  # type: ignore[arg-type]
                       gate=GateStop(gate="verdict", reason="the analysis says 'needs changes'"))


def test_a_stage_concludes_from_its_state_and_the_analysis_verdict() -> None:
    stopped = run(analysis="succeeded", plan="not reached")
    assert conclusion(stopped, stopped.stage("analysis"), BAD) == "failure"
    assert conclusion(stopped, stopped.stage("plan"), BAD) == "skipped"
    superseded = run("superseded", analysis="not reached")
    assert conclusion(superseded, superseded.stage("analysis"), None) == "cancelled"
    going = run("running", analysis="running")
    assert conclusion(going, going.stage("analysis"), None) is None
    good = BAD.model_copy(update={"verdict": "safe to merge"})
    assert conclusion(stopped, stopped.stage("analysis"), good) == "success"


def test_findings_become_annotations_at_their_lines() -> None:
    finding = Finding(id="1", rule_id="bandit:B602", scanner="bandit", category="injection", severity=Severity.medium,
                      title="shell=True", message="subprocess call with shell=True",
                      location=Location(path="app.py", start_line=3, end_line=3), remediation=Remediation(summary="x"))
    assert to_annotations([finding]) == [{"path": "app.py", "start_line": 3, "end_line": 3,
                                          "annotation_level": "warning", "title": "bandit:B602: shell=True",
                                          "message": "subprocess call with shell=True"}]


def test_the_pr_comment_carries_its_marker_verdict_and_gate() -> None:
    body = comment_body(run(analysis="succeeded", plan="not reached"), BAD)
    assert body.startswith(MARKER) and "needs changes" in body and "2 high findings" in body
    assert "Stopped by gate **verdict**" in body and "| plan | not reached |" in body


def test_slack_events_are_named_once_per_thing_reached() -> None:
    events = dict(events_of(run(analysis="succeeded", plan="not reached")))
    assert set(events) == {"started", "stage:analysis", "failure"}
    assert events["failure"].endswith("the analysis says 'needs changes'")
    assert [k for k, _ in events_of(run("queued", analysis="waiting"))] == []
    assert git_ref("pull/7") == "refs/pull/7/head" and git_ref("main") == "refs/heads/main"


def test_secrets_are_read_from_files_or_the_environment_and_hidden_from_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret").write_text("s3cr3t-from-file\n")
    monkeypatch.setenv("SOME_SECRET", "  from-env-value  ")
    assert read_secret("SOME_SECRET", tmp_path / "secret") == "s3cr3t-from-file"
    assert read_secret("SOME_SECRET") == "from-env-value"
    assert read_secret("UNSET_SECRET_NAME") is None
    with pytest.raises(OrchestraError, match="cannot read the secret file"):
        read_secret("SOME_SECRET", tmp_path / "missing")
    redact = Redactor()
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    redact.add("s3cr3t-from-file", key, None)
    text = redact("401 for s3cr3t-from-file; key line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC; token=ghp_abcdef123456")
    assert "s3cr3t" not in text and "MIIEvQ" not in text and "ghp_abcdef123456" not in text

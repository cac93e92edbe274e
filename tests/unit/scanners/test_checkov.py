"""checkov's parser on its recorded GitHub Actions output: file-level checks get a real line."""

import json
from pathlib import Path
from typing import Any

from devops_orchestra.core.workspace import SourceFile
from devops_orchestra.models import Severity
from devops_orchestra.scanners import checkov
from tests.helpers import ACTIONS_REPO, GOLDEN, write


def _raw() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((GOLDEN / "checkov-actions.raw.json").read_text())
    return raw


def test_workflows_go_to_the_github_actions_framework() -> None:
    kinds = {rel: checkov.framework_of(SourceFile(rel, "yaml", 1, False)) for rel in ACTIONS_REPO}
    assert kinds == {**dict.fromkeys([".github/workflows/triage.yml", ".github/workflows/nightly.yml",
                                      ".github/workflows/release.yml", ".github/workflows/ci.yml"], "github_actions"),
                     ".github/actions/notify/action.yml": None}


def test_file_level_and_step_level_checks_land_on_the_line_they_are_about(tmp_path: Path) -> None:
    raw = _raw()
    lines = {(h["check_id"], h["file_path"]): h["file_line_range"] for h in raw["results"]["failed_checks"]}
    assert lines[("CKV2_GHA_1", "/.github/workflows/nightly.yml")] == [0, 1]  # checkov: the whole file
    assert lines[("CKV2_GHA_1", "/.github/workflows/release.yml")] == [10, 11]  # the job's permissions
    assert lines[("CKV_GHA_2", "/.github/workflows/triage.yml")] == [15, 20]  # the whole step
    at = {(f.rule_id, f.location.path): f for f in checkov.parse(raw, write(tmp_path, ACTIONS_REPO))}
    missing = at[("checkov:CKV2_GHA_1", ".github/workflows/nightly.yml")]
    assert (missing.location.start_line, missing.severity) == (1, Severity.medium)
    assert "no top-level permissions: block" in missing.message
    job_only = at[("checkov:CKV2_GHA_1", ".github/workflows/release.yml")]
    assert (job_only.location.start_line, job_only.message) == (1, missing.message)
    write_all = at[("checkov:CKV2_GHA_1", ".github/workflows/triage.yml")]
    assert (write_all.location.start_line, write_all.severity, write_all.category) == (
        5, Severity.high, "excessive-permissions")
    injection = at[("checkov:CKV_GHA_2", ".github/workflows/triage.yml")]
    assert (injection.location.start_line, injection.category) == (17, "code-injection")  # the expression's line


def test_other_whole_file_checks_go_on_line_one(tmp_path: Path) -> None:
    hit = {**_raw()["results"]["failed_checks"][0], "check_id": "CKV_GHA_7", "file_line_range": [0, 0]}
    [finding] = checkov.parse({"check_type": "github_actions", "results": {"failed_checks": [hit]}},
                              write(tmp_path, ACTIONS_REPO))
    assert finding.location.start_line == 1 and finding.message.endswith("checkov reports it for the whole file.")
